#!/usr/bin/env python3
"""Writes the torch-exported SVD UNet fixtures of tests/Vcut.MLNet.Tests (issue 12).

Not needed at run time or in CI: the zip files it writes are committed. Run with Debian's python3-torch (1.13)
and python3-onnx (1.12):   /usr/bin/python3 export_fixtures.py

The network is a small UNetSpatioTemporalConditionModel written the way a PyTorch user writes it (diffusers'
idioms: repeat_interleave over frames, the temporal context taken from the first frame and repeated over h*w,
baddbmm or 4-D matmul attention, F.interpolate sized to the skip), with the state-dict names and the arithmetic
of this repository's UNetGraphBuilder, so the C# tests can build the project's own UNet from the same weights
(read back from the unfolded float32 export's named initializers) and compare.

Weights lie on a coarse grid (9 levels per tensor, the seeded source's scales) so the zipped fixtures stay small.
"""
import hashlib
import io
import math
import os
import uuid
import zipfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

IN_CH, OUT_CH, WIDTHS, HEADS, LAYERS, CROSS, ADD_TIME = 8, 4, [32, 32], [2, 2], 1, 16, 8
TEMB = 4 * WIDTHS[0]
GROUPS = 32
HERE = os.path.dirname(os.path.abspath(__file__))


class Attention(nn.Module):
    def __init__(self, channels, kv_dim, heads, form):
        super().__init__()
        self.heads, self.form = heads, form
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(kv_dim, channels, bias=False)
        self.to_v = nn.Linear(kv_dim, channels, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])
        self.scale = (channels // heads) ** -0.5

    def head_to_batch(self, x):  # diffusers' Attention.head_to_batch_dim
        b, s, c = x.shape
        return x.reshape(b, s, self.heads, c // self.heads).permute(0, 2, 1, 3).reshape(b * self.heads, s, c // self.heads)

    def forward(self, x, context=None):
        context = x if context is None else context
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        b, s, c = q.shape
        if self.form == "baddbmm":  # diffusers' AttnProcessor
            q, k, v = self.head_to_batch(q), self.head_to_batch(k), self.head_to_batch(v)
            empty = torch.empty(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype)
            probs = torch.baddbmm(empty, q, k.transpose(-1, -2), beta=0, alpha=self.scale).softmax(dim=-1)
            out = torch.bmm(probs, v)
            out = out.reshape(b, self.heads, s, c // self.heads).permute(0, 2, 1, 3).reshape(b, s, c)
        else:  # 4-D matmul: q @ kᵀ · scale → softmax → @ v
            q4 = q.view(b, -1, self.heads, c // self.heads).transpose(1, 2)
            k4 = k.view(b, -1, self.heads, c // self.heads).transpose(1, 2)
            v4 = v.view(b, -1, self.heads, c // self.heads).transpose(1, 2)
            probs = F.softmax(torch.matmul(q4, k4.transpose(-2, -1)) * self.scale, dim=-1)
            out = torch.matmul(probs, v4).transpose(1, 2).reshape(b, -1, c)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim), nn.Identity(), nn.Linear(4 * dim, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicBlock(nn.Module):
    def __init__(self, c, heads, form):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(c), nn.LayerNorm(c), nn.LayerNorm(c)
        self.attn1, self.attn2 = Attention(c, c, heads, form), Attention(c, CROSS, heads, form)
        self.ff = FeedForward(c)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class TemporalBlock(BasicBlock):
    def __init__(self, c, heads, form):
        super().__init__(c, heads, form)
        self.norm_in, self.ff_in = nn.LayerNorm(c), FeedForward(c)

    def forward(self, x, context):
        x = self.ff_in(self.norm_in(x)) + x
        return super().forward(x, context)


def sinusoid(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(i, h), nn.Linear(h, o)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class Mixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.mix_factor = nn.Parameter(torch.zeros(1))

    def forward(self, spatial, temporal):
        alpha = torch.sigmoid(self.mix_factor)
        return alpha * spatial + (1.0 - alpha) * temporal


class SpatialResnet(nn.Module):
    def __init__(self, cin, cout, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin, eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(TEMB, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout, eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class TemporalResnet(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, c, eps)
        self.conv1 = nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))
        self.time_emb_proj = nn.Linear(TEMB, c)
        self.norm2 = nn.GroupNorm(GROUPS, c, eps)
        self.conv2 = nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))

    def forward(self, video, temb, frames):
        h = self.conv1(F.silu(self.norm1(video)))
        t = self.time_emb_proj(F.silu(temb))
        t = t.reshape(-1, frames, t.shape[-1]).permute(0, 2, 1)[:, :, :, None, None]
        h = self.conv2(F.silu(self.norm2(h + t)))
        return video + h


class ResBlock(nn.Module):
    def __init__(self, cin, cout, eps):
        super().__init__()
        self.spatial_res_block = SpatialResnet(cin, cout, eps)
        self.temporal_res_block = TemporalResnet(cout, eps)
        self.time_mixer = Mixer()

    def forward(self, x, temb, frames):
        s = self.spatial_res_block(x, temb)
        bf, c, h, w = s.shape
        video = s.reshape(-1, frames, c, h, w).permute(0, 2, 1, 3, 4)
        t = self.temporal_res_block(video, temb, frames)
        out = self.time_mixer(video, t)
        return out.permute(0, 2, 1, 3, 4).reshape(bf, c, h, w)


class Transformer(nn.Module):
    def __init__(self, c, heads, form):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, c, 1e-6)
        self.proj_in = nn.Linear(c, c)
        self.time_pos_embed = TimestepEmbedding(c, 4 * c, c)
        self.transformer_blocks = nn.ModuleList([BasicBlock(c, heads, form)])
        self.temporal_transformer_blocks = nn.ModuleList([TemporalBlock(c, heads, form)])
        self.time_mixer = Mixer()
        self.proj_out = nn.Linear(c, c)

    def forward(self, x, context, frames):
        bf, c, h, w = x.shape
        residual = x
        tokens = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(bf, h * w, c))
        # diffusers: the temporal context is each video's first-frame token, repeated over the h*w positions.
        first = context[None, :].reshape(bf // frames, frames, -1, context.shape[-1])[:, 0]
        time_context = first[:, None].expand(  # broadcast_to in diffusers (not exportable by torch 1.13)
            bf // frames, h * w, first.shape[-2], first.shape[-1])
        time_context = time_context.reshape(-1, first.shape[-2], first.shape[-1])
        frame_emb = self.time_pos_embed(sinusoid(torch.arange(frames), c))[:, None, :]
        spatial = self.transformer_blocks[0](tokens, context)
        video = spatial.reshape(-1, frames, h * w, c) + frame_emb
        temporal_in = video.permute(0, 2, 1, 3).reshape(-1, frames, c)
        temporal = self.temporal_transformer_blocks[0](temporal_in, time_context)
        temporal = temporal.reshape(-1, h * w, frames, c).permute(0, 2, 1, 3).reshape(bf, h * w, c)
        out = self.proj_out(self.time_mixer(spatial, temporal))
        return out.reshape(bf, h, w, c).permute(0, 3, 1, 2) + residual


class Down(nn.Module):
    def __init__(self, cin, cout, last, heads, form):
        super().__init__()
        eps = 1e-5 if last else 1e-6
        self.resnets = nn.ModuleList([ResBlock(cin if i == 0 else cout, cout, eps) for i in range(LAYERS)])
        self.attentions = None if last else nn.ModuleList([Transformer(cout, heads, form) for _ in range(LAYERS)])
        self.downsamplers = None if last else nn.ModuleList([nn.Module()])
        if not last:
            self.downsamplers[0].conv = nn.Conv2d(cout, cout, 3, stride=2, padding=1)


class Up(nn.Module):
    def __init__(self, ins, cout, attention, upsample, heads, form):
        super().__init__()
        self.resnets = nn.ModuleList([ResBlock(i, cout, 1e-6) for i in ins])
        self.attentions = nn.ModuleList([Transformer(cout, heads, form) for _ in ins]) if attention else None
        self.upsamplers = None
        if upsample:
            self.upsamplers = nn.ModuleList([nn.Module()])
            self.upsamplers[0].conv = nn.Conv2d(cout, cout, 3, padding=1)


class Mid(nn.Module):
    def __init__(self, c, heads, form):
        super().__init__()
        self.resnets = nn.ModuleList([ResBlock(c, c, 1e-5), ResBlock(c, c, 1e-5)])
        self.attentions = nn.ModuleList([Transformer(c, heads, form)])


class UNet(nn.Module):
    def __init__(self, form="baddbmm"):
        super().__init__()
        c0 = WIDTHS[0]
        self.time_embedding = TimestepEmbedding(c0, TEMB, TEMB)
        self.add_embedding = TimestepEmbedding(3 * ADD_TIME, TEMB, TEMB)
        self.conv_in = nn.Conv2d(IN_CH, c0, 3, padding=1)
        levels = len(WIDTHS)
        self.down_blocks = nn.ModuleList()
        channels, skips = c0, [c0]
        for level in range(levels):
            last = level == levels - 1
            self.down_blocks.append(Down(channels, WIDTHS[level], last, HEADS[level], form))
            channels = WIDTHS[level]
            skips += [channels] * LAYERS + ([] if last else [channels])
        self.mid_block = Mid(WIDTHS[-1], HEADS[-1], form)
        self.up_blocks = nn.ModuleList()
        rw, rh = WIDTHS[::-1], HEADS[::-1]
        for level in range(levels):
            ins = []
            for _ in range(LAYERS + 1):
                ins.append(channels + skips.pop())
                channels = rw[level]
            self.up_blocks.append(Up(ins, rw[level], level > 0, level < levels - 1, rh[level], form))
        self.conv_norm_out = nn.GroupNorm(GROUPS, channels, 1e-5)
        self.conv_out = nn.Conv2d(channels, OUT_CH, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, added_time_ids):
        batch, frames = sample.shape[0], sample.shape[1]
        emb = self.time_embedding(sinusoid(timestep, WIDTHS[0]))
        ids = sinusoid(added_time_ids.flatten(), ADD_TIME).reshape(batch, -1)
        emb = emb + self.add_embedding(ids)
        x = sample.flatten(0, 1)
        emb = emb.repeat_interleave(frames, dim=0)
        context = encoder_hidden_states.repeat_interleave(frames, dim=0)
        x = self.conv_in(x)
        stack = [x]
        for block in self.down_blocks:
            for i, res in enumerate(block.resnets):
                x = res(x, emb, frames)
                if block.attentions is not None:
                    x = block.attentions[i](x, context, frames)
                stack.append(x)
            if block.downsamplers is not None:
                x = block.downsamplers[0].conv(x)
                stack.append(x)
        x = self.mid_block.resnets[0](x, emb, frames)
        x = self.mid_block.attentions[0](x, context, frames)
        x = self.mid_block.resnets[1](x, emb, frames)
        for block in self.up_blocks:
            for i, res in enumerate(block.resnets):
                x = res(torch.cat([x, stack.pop()], dim=1), emb, frames)
                if block.attentions is not None:
                    x = block.attentions[i](x, context, frames)
            if block.upsamplers is not None:
                x = F.interpolate(x, size=stack[-1].shape[-2:], mode="nearest")
                x = block.upsamplers[0].conv(x)
        x = self.conv_out(F.silu(self.conv_norm_out(x)))
        return x.reshape(batch, frames, *x.shape[1:])


def fill_weights(model):
    """The seeded source's scales on a 9-level grid: center + half_width * k/4, k in -4..4, per tensor from a hash.
    The names must stay distinct initializers in the unfolded export (the tests read the weights back from it)."""
    for name, p in model.state_dict().items():
        seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        # Tiny tensors (the mix factors) draw from the continuum: torch's exporter merges initializers of equal value.
        k = (rng.uniform(-1, 1, size=p.shape) if p.numel() < 8 else rng.integers(-4, 5, size=p.shape) / 4).astype(np.float32)
        if name.endswith("mix_factor"):
            center, half = 0.0, 1.5
        elif name.endswith("bias"):
            parent = name[: -len(".bias")]
            is_norm = isinstance(dict(model.named_modules())[parent], (nn.GroupNorm, nn.LayerNorm))
            center, half = (0.0, 0.1) if is_norm else (0.0, 0.05)
        else:  # weight
            module = dict(model.named_modules())[name[: -len(".weight")]]
            if isinstance(module, (nn.GroupNorm, nn.LayerNorm)):
                center, half = 1.0, 0.2
            else:
                fan_in = int(np.prod(p.shape[1:]))
                center, half = 0.0, math.sqrt(3.0 / fan_in)
        p.copy_(torch.from_numpy(center + half * k))


def example_inputs():
    sample = torch.linspace(-1, 1, 2 * 3 * IN_CH * 8 * 8).reshape(2, 3, IN_CH, 8, 8)
    return sample, torch.tensor([0.8]), torch.linspace(-1, 1, 2 * CROSS).reshape(2, 1, CROSS), torch.tensor([[6.0, 127, 0.02]] * 2)


def export(model, opset, folding, output_name):
    buffer = io.BytesIO()
    axes = {"sample": {0: "batch", 1: "frames", 3: "height", 4: "width"}, "encoder_hidden_states": {0: "batch"},
            "added_time_ids": {0: "batch"}, output_name: {0: "batch", 1: "frames", 3: "height", 4: "width"}}
    torch.onnx.export(model, example_inputs(), buffer, opset_version=opset, do_constant_folding=folding,
                      input_names=["sample", "timestep", "encoder_hidden_states", "added_time_ids"],
                      output_names=[output_name], dynamic_axes=axes)
    model = onnx.load_from_string(buffer.getvalue())
    for n in model.graph.node:
        n.doc_string = ""
    return model


def to_float16(model, float32_ports=()):
    """float32 → float16 as a user's converter does, keeping the sinusoidal embeddings (everything upstream of
    Cos/Sin) in float32 as diffusers does, with Casts where they meet float16."""
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    island, todo = set(), [n for n in g.node if n.op_type in ("Cos", "Sin")]
    while todo:
        n = todo.pop()
        if id(n) in island:
            continue
        island.add(id(n))
        if n.op_type != "Shape":  # sizes only: the island does not extend into the activations measured
            todo += [producers[i] for i in n.input if i in producers]
    island_values = {o for n in g.node if id(n) in island for o in n.output}
    island_inputs = {i for n in g.node if id(n) in island for i in n.input}
    F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16
    for t in g.initializer:
        if t.data_type == F32 and t.name not in island_inputs:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    new_nodes, casts = [], {}
    ports = {v.name: v for v in list(g.input) + list(g.output)}
    for v in ports.values():
        if v.type.tensor_type.elem_type == F32 and v.name not in float32_ports:
            v.type.tensor_type.elem_type = F16
    def cast(value, to, suffix):
        key = (value, to)
        if key not in casts:
            casts[key] = f"{value}_{suffix}"
            new_nodes.append(helper.make_node("Cast", [value], [casts[key]], to=to, name=f"{value}/{suffix}"))
        return casts[key]
    for n in g.node:
        if id(n) in island:
            for j, i in enumerate(n.input):  # island inputs from float16 ports
                if i in ports and ports[i].type.tensor_type.elem_type == F16:
                    n.input[j] = cast(i, F32, "float32")
        else:
            for j, i in enumerate(n.input):
                if i in island_values and producers[i].op_type not in ("Shape", "Gather", "Range") and not (
                        producers[i].op_type == "Cast" and producers[i].attribute[0].i != F32):
                    n.input[j] = cast(i, F16, "float16")
                elif i in ports and i in float32_ports and ports[i].type.tensor_type.elem_type == F32:
                    n.input[j] = cast(i, F16, "float16")
            if n.op_type == "SequenceEmpty" and not any(a.name == "dtype" for a in n.attribute):
                n.attribute.append(helper.make_attribute("dtype", F32))  # the default; converted below
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    body_to_float16(a.g)
                if n.op_type in ("Cast", "SequenceEmpty") and a.name in ("to", "dtype") and a.i == F32:
                    a.i = F16
                if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == F32:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
        new_nodes.append(n)
    # casts must precede their consumers: a stable topological order
    g.ClearField("node")
    order, done = [], {i.name for i in g.input} | {t.name for t in g.initializer} | {""}
    pending = new_nodes
    while pending:
        rest = []
        for n in pending:
            if all(i in done for i in n.input):
                order.append(n)
                done.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise RuntimeError("cycle while ordering float16 graph")
        pending = rest
    g.node.extend(order)
    g.ClearField("value_info")
    return model


def body_to_float16(graph):
    """A Loop body (torch's repeat_interleave by a dynamic count): its float value types and constants to float16."""
    def retype(t):
        if t.HasField("tensor_type") and t.tensor_type.elem_type == TensorProto.FLOAT:
            t.tensor_type.elem_type = TensorProto.FLOAT16
        if t.HasField("sequence_type"):
            retype(t.sequence_type.elem_type)
    for v in list(graph.input) + list(graph.output):
        retype(v.type)
    graph.ClearField("value_info")
    for n in graph.node:
        if n.op_type == "SequenceEmpty" and not any(a.name == "dtype" for a in n.attribute):
            n.attribute.append(helper.make_attribute("dtype", TensorProto.FLOAT))
        for a in n.attribute:
            if n.op_type in ("Cast", "SequenceEmpty") and a.name in ("to", "dtype") and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
            if a.type == onnx.AttributeProto.GRAPH:
                body_to_float16(a.g)


def write_zip(name, files):
    path = os.path.join(HERE, f"{name}.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for file_name, data in files.items():
            info = zipfile.ZipInfo(f"{name}/{file_name}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data, compresslevel=9)
    print(f"{path}: {os.path.getsize(path):,} bytes ({', '.join(f'{k} {len(v):,}' for k, v in files.items())})")


def main():
    torch.manual_seed(0)
    baddbmm, matmul = UNet("baddbmm").eval(), UNet("matmul").eval()
    with torch.no_grad():
        fill_weights(baddbmm)
        matmul.load_state_dict(baddbmm.state_dict())
        reference = baddbmm(*example_inputs())
        assert torch.allclose(reference, matmul(*example_inputs()), atol=1e-5)
        print("torch forward", tuple(reference.shape), float(reference.abs().max()))
    write_zip("torch-f32-opset17-folded", {"model.onnx": export(baddbmm, 17, True, "out_sample").SerializeToString()})
    write_zip("torch-f32-opset14-unfolded", {"model.onnx": export(matmul, 14, False, "out_sample").SerializeToString()})
    write_zip("torch-f16-opset17-folded",
              {"model.onnx": to_float16(export(baddbmm, 17, True, "out_sample")).SerializeToString()})
    # Laid out like stable-video-diffusion-img2vid-xt-1-1-tensorrt's unet-temp.opt/model.onnx: float16 sample,
    # encoder_hidden_states and added_time_ids, float32 timestep, output 'latent', one external data file named by a UUID.
    trt = to_float16(export(baddbmm, 17, True, "latent"), float32_ports=("timestep",))
    data_name = str(uuid.uuid5(uuid.NAMESPACE_URL, "vcut-fixture-trt-layout"))
    folder = os.path.join(HERE, "_trt")
    os.makedirs(folder, exist_ok=True)
    onnx.save_model(trt, os.path.join(folder, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data_name, size_threshold=0)
    files = {}
    for f in ("model.onnx", data_name):
        with open(os.path.join(folder, f), "rb") as h:
            files[f] = h.read()
        os.remove(os.path.join(folder, f))
    os.rmdir(folder)
    write_zip("trt-layout-f16", files)


if __name__ == "__main__":
    main()
