namespace Vcut.Runtime.Video;

/// <summary>
/// The variable-length LZW code of GIF image data (GIF89a §22 and appendix F): codes grow from min code size + 1
/// to 12 bits, are packed least significant bit first, and go out in sub-blocks of at most 255 bytes. When the
/// 4096-entry table is full a clear code starts a new table.
/// </summary>
internal sealed class GifLzw
{
    private const int MaxCodes = 4096;
    private const int MaxCodeBits = 12;

    // (prefix code << 8 | next index) → code, valid when the stamp in the high bits equals the current table's:
    // starting a new table is then one increment instead of clearing 4 MiB.
    private readonly int[] _table = new int[MaxCodes << 8];
    private int _stamp = 1;

    private readonly byte[] _block = new byte[256];
    private int _blockLength;
    private ulong _bits;
    private int _bitCount;

    /// <summary>Writes one image's data: the minimum code size byte, the sub-blocks and the block terminator.</summary>
    /// <param name="indices">Palette indices, each below 2^<paramref name="minCodeSize"/>.</param>
    /// <param name="minCodeSize">Bits per index, 2 to 8 (GIF needs at least 2, even for a 2-colour palette).</param>
    /// <param name="output">Where the bytes go.</param>
    public void Encode(ReadOnlySpan<byte> indices, int minCodeSize, Stream output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minCodeSize, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minCodeSize, 8);
        if (indices.IsEmpty)
        {
            throw new ArgumentException("An image needs at least one pixel.", nameof(indices));
        }
        var clear = 1 << minCodeSize;
        var end = clear + 1;
        if (indices[0] >= clear)
        {
            throw new ArgumentException($"Index {indices[0]} at pixel 0 does not fit a {minCodeSize}-bit palette.", nameof(indices));
        }
        output.WriteByte((byte)minCodeSize);
        _blockLength = 0;
        _bits = 0;
        _bitCount = 0;

        var codeBits = minCodeSize + 1;
        var next = end + 1;
        NewTable();
        Put(clear, codeBits, output);
        int prefix = indices[0];
        for (var i = 1; i < indices.Length; i++)
        {
            int k = indices[i];
            if (k >= clear)
            {
                throw new ArgumentException($"Index {k} at pixel {i} does not fit a {minCodeSize}-bit palette.", nameof(indices));
            }
            var key = (prefix << 8) | k;
            var entry = _table[key];
            if (entry >> MaxCodeBits == _stamp)
            {
                prefix = entry & (MaxCodes - 1);
                continue;
            }
            Put(prefix, codeBits, output);
            if (next == MaxCodes)
            {
                Put(clear, codeBits, output);
                NewTable();
                codeBits = minCodeSize + 1;
                next = end + 1;
            }
            else
            {
                // The decoder adds this entry only when it reads the next code, so it widens its codes when the entry
                // it adds reaches 2^bits; widening here before adding the entry keeps the two in step.
                if (next >= 1 << codeBits)
                {
                    codeBits++;
                }
                _table[key] = (_stamp << MaxCodeBits) | next;
                next++;
            }
            prefix = k;
        }
        Put(prefix, codeBits, output);
        Put(end, codeBits, output);
        if (_bitCount > 0)
        {
            Emit((byte)_bits, output);
        }
        Flush(output);
        output.WriteByte(0); // block terminator
    }

    private void NewTable()
    {
        if (++_stamp >= 1 << (31 - MaxCodeBits))
        {
            Array.Clear(_table);
            _stamp = 1;
        }
    }

    private void Put(int code, int bits, Stream output)
    {
        _bits |= (ulong)code << _bitCount;
        _bitCount += bits;
        while (_bitCount >= 8)
        {
            Emit((byte)_bits, output);
            _bits >>= 8;
            _bitCount -= 8;
        }
    }

    private void Emit(byte value, Stream output)
    {
        _block[1 + _blockLength++] = value;
        if (_blockLength == 255)
        {
            Flush(output);
        }
    }

    private void Flush(Stream output)
    {
        if (_blockLength == 0)
        {
            return;
        }
        _block[0] = (byte)_blockLength;
        output.Write(_block, 0, 1 + _blockLength);
        _blockLength = 0;
    }
}
