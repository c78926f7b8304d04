using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet;

/// <summary>
/// A progress report of a Vcut transformer (see <see cref="VcutOptions.Progress"/>): which row of which column is being
/// computed, and how far: the runtime's stage and step within it.
/// </summary>
/// <param name="ColumnName">The column being computed.</param>
/// <param name="Row">The row's position in the cursor reading it.</param>
/// <param name="Stage">The stage of the video pipeline.</param>
/// <param name="Step">Completed steps of the stage (0 when it starts).</param>
/// <param name="TotalSteps">Steps of the stage.</param>
public readonly record struct VcutProgress(string ColumnName, long Row, GenerationStage Stage, int Step, int TotalSteps);
