"""A Llama / Qwen2 decoder in plain PyTorch: batched prefill, one-token decode over a static cache.

Why not `model.generate`: measured on an H200 with the 0.5B model it gives 2,300-2,600 tok/s at
batch 512 (a Python loop of logits processors, a cache re-allocated as it grows, and no refill of
finished rows). Here the cache is allocated once, the Q/K/V and gate/up projections are fused,
grouped-query attention never copies K/V, sampling is one Gumbel-max on the device, and
`workbench.gpu.generate` refills finished rows. The numerics are those of the Hugging Face
implementation (checked against it in tests/test_gpu_decoder.py to float tolerance).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from workbench.gpu.weights import DecoderConfig


@dataclass
class Layer:
    norm_attn: torch.Tensor
    wqkv: torch.Tensor  # [(H + 2 KVH) * hd, hidden]
    bqkv: torch.Tensor | None
    wo: torch.Tensor
    norm_ffn: torch.Tensor
    w_gate_up: torch.Tensor  # [2 * ffn, hidden]
    w_down: torch.Tensor


KV = tuple[torch.Tensor, torch.Tensor]


def _inv_freq(cfg: DecoderConfig, device: torch.device) -> torch.Tensor:
    """RoPE inverse frequencies, theta^(-2i/d) for i < d/2."""
    hd = cfg.head_dim
    return 1.0 / (cfg.rope_theta ** (
        torch.arange(0, hd, 2, device=device, dtype=torch.float32) / hd))


class KVCache:
    """Static K/V buffers, one pair per layer: [rows, kv_heads, max_len, head_dim]."""

    def __init__(self, cfg: DecoderConfig, rows: int, max_len: int, *, device: Any,
                 dtype: torch.dtype) -> None:
        shape = (rows, cfg.n_kv_heads, max_len, cfg.head_dim)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layers)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layers)]
        self.rows, self.max_len = rows, max_len

    @staticmethod
    def bytes_per_token(cfg: DecoderConfig, dtype: torch.dtype) -> int:
        return 2 * cfg.n_layers * cfg.n_kv_heads * cfg.head_dim * torch.finfo(dtype).bits // 8


class Decoder:
    """The model's forward passes. `device` "cuda" uses bf16, "cpu" float32."""

    def __init__(self, cfg: DecoderConfig, weights: dict[str, Any], *, device: str = "cpu",
                 dtype: torch.dtype | None = None) -> None:
        self.cfg = cfg
        self.device = torch.device(device)
        self.dtype = dtype or (torch.bfloat16 if self.device.type == "cuda" else torch.float32)

        def t(name: str) -> torch.Tensor:
            w = weights[name]
            w = torch.from_numpy(w) if isinstance(w, np.ndarray) else w
            return w.to(self.device, self.dtype).contiguous()

        def cat(*names: str) -> torch.Tensor:
            return torch.cat([t(n) for n in names], dim=0).contiguous()

        self.embed = t("token_embd.weight")
        self.lm_head = t("output.weight") if "output.weight" in weights else self.embed
        self.norm = t("output_norm.weight")
        self.layers: list[Layer] = []
        for i in range(cfg.n_layers):
            p = f"blk.{i}."
            has_bias = p + "attn_q.bias" in weights
            self.layers.append(Layer(
                norm_attn=t(p + "attn_norm.weight"),
                wqkv=cat(p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"),
                bqkv=cat(p + "attn_q.bias", p + "attn_k.bias", p + "attn_v.bias")
                if has_bias else None,
                wo=t(p + "attn_output.weight"),
                norm_ffn=t(p + "ffn_norm.weight"),
                w_gate_up=cat(p + "ffn_gate.weight", p + "ffn_up.weight"),
                w_down=t(p + "ffn_down.weight"),
            ))
        self.inv_freq = _inv_freq(cfg, self.device)
        self.n_params = int(sum(np.prod(w.shape) for w in weights.values()))

    # -- persistence: de-quantising a GGUF takes a minute, loading this a second ----------------
    def save(self, path: str | Path) -> None:
        state = {"cfg": asdict(self.cfg), "n_params": self.n_params, "embed": self.embed,
                 "norm": self.norm, "layers": [asdict(x) for x in self.layers],
                 "lm_head": None if self.lm_head is self.embed else self.lm_head}
        torch.save(state, str(path))

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> Decoder:
        state = torch.load(str(path), map_location=device, weights_only=True)
        self = cls.__new__(cls)
        self.cfg = DecoderConfig(**state["cfg"])
        self.device = torch.device(device)
        self.embed = state["embed"]
        self.dtype = self.embed.dtype
        self.norm = state["norm"]
        self.lm_head = state["lm_head"] if state["lm_head"] is not None else self.embed
        self.layers = [Layer(**x) for x in state["layers"]]
        self.inv_freq = _inv_freq(self.cfg, self.device)
        self.n_params = int(state["n_params"])
        return self

    # -- pieces ---------------------------------------------------------------------------
    def _rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.cfg.rms_eps)
        return w * xf.to(x.dtype)

    def _rope(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin for positions [B, T] -> [B, T, 1, head_dim]."""
        freqs = pos.float()[..., None] * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)[:, :, None, :]
        return emb.cos().to(self.dtype), emb.sin().to(self.dtype)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    def _qkv(self, layer: Layer, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q [B, T, H, hd], k and v [B, T, KVH, hd] with RoPE applied."""
        c = self.cfg
        hd = c.head_dim
        h = self._rms(x, layer.norm_attn)
        qkv = F.linear(h, layer.wqkv, layer.bqkv)
        b, t = x.shape[:2]
        q, k, v = qkv.split([c.n_heads * hd, c.n_kv_heads * hd, c.n_kv_heads * hd], dim=-1)
        q = self._rotate(q.view(b, t, c.n_heads, hd), cos, sin)
        k = self._rotate(k.view(b, t, c.n_kv_heads, hd), cos, sin)
        return q, k, v.view(b, t, c.n_kv_heads, hd)

    def _mlp(self, layer: Layer, x: torch.Tensor) -> torch.Tensor:
        h = self._rms(x, layer.norm_ffn)
        gate, up = F.linear(h, layer.w_gate_up).chunk(2, dim=-1)
        return x + F.linear(F.silu(gate) * up, layer.w_down)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Float32 logits from final (normed) hidden states."""
        return F.linear(h, self.lm_head).float()

    # -- whole passes ---------------------------------------------------------------------
    @torch.inference_mode()
    def prefill(self, tokens: torch.Tensor, *, keep_kv: bool = True,
                hidden_layer: int | None = None
                ) -> tuple[torch.Tensor, list[KV], torch.Tensor | None]:
        """Causal forward over right-padded rows [B, T] (positions 0..T-1).

        Returns the final normed hidden states [B, T, hidden], per layer (k, v) as
        [B, KVH, T, hd] when `keep_kv`, and the residual stream after block `hidden_layer`
        (0-based) when asked (without `keep_kv` the pass stops there and returns it twice).
        Padding at the end of a row never affects its earlier positions.
        """
        b, t = tokens.shape
        pos = torch.arange(t, device=self.device).expand(b, t)
        cos, sin = self._rope(pos)
        x = self.embed[tokens]
        kv: list[KV] = []
        mid = None
        for i, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x, cos, sin)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            if keep_kv:
                kv.append((k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            x = x + F.linear(a.transpose(1, 2).reshape(b, t, -1), layer.wo)
            x = self._mlp(layer, x)
            if hidden_layer is not None and i == hidden_layer:
                mid = x
                if not keep_kv:  # nothing above this block is needed
                    return x, kv, mid
        return self._rms(x, self.norm), kv, mid

    @torch.inference_mode()
    def decode(self, tok: torch.Tensor, pos: torch.Tensor, cache: KVCache, upto: int
               ) -> torch.Tensor:
        """One token per cache row: `tok` [B] at positions `pos` [B]; attends to keys < upto.

        Writes the new K/V into the cache and returns the final normed hidden state [B, hidden].
        Grouped-query attention without copies: the G query heads of one KV head are stacked
        as G query rows of one matmul against that head's keys.
        """
        c = self.cfg
        b = tok.shape[0]
        g = c.n_heads // c.n_kv_heads
        cos, sin = self._rope(pos[:, None])
        x = self.embed[tok][:, None, :]
        rows = torch.arange(b, device=self.device)
        masked = torch.arange(upto, device=self.device)[None, :] > pos[:, None]  # [B, upto]
        scale = 1.0 / math.sqrt(c.head_dim)
        for li, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x, cos, sin)
            cache.k[li][rows, :, pos] = k[:, 0]
            cache.v[li][rows, :, pos] = v[:, 0]
            qg = q.view(b, c.n_kv_heads, g, c.head_dim)
            s = torch.matmul(qg, cache.k[li][:, :, :upto].transpose(-1, -2)).float() * scale
            s.masked_fill_(masked[:, None, None, :], float("-inf"))
            p = torch.softmax(s, dim=-1).to(self.dtype)
            a = torch.matmul(p, cache.v[li][:, :, :upto]).reshape(b, 1, -1)
            x = x + F.linear(a, layer.wo)
            x = self._mlp(layer, x)
        return self._rms(x, self.norm)[:, 0]

    @torch.inference_mode()
    def suffix(self, kv: list[tuple[torch.Tensor, torch.Tensor]], start: torch.Tensor,
               suffix: torch.Tensor) -> torch.Tensor:
        """Run `suffix` tokens [S] on every row as if it followed that row's first `start`
        tokens of a prefill whose K/V are `kv` ([B, KVH, T, hd] per layer); the K/V of the
        suffix itself are not stored. Returns the final normed hidden state of the last suffix
        token [B, hidden]. One call reads a judge's answer after step i of every row.
        """
        c = self.cfg
        b = start.shape[0]
        s_len = suffix.shape[0]
        g = c.n_heads // c.n_kv_heads
        hd = c.head_dim
        pos = start[:, None] + torch.arange(s_len, device=self.device)[None, :]
        cos, sin = self._rope(pos)
        x = self.embed[suffix].expand(b, s_len, -1)
        t = kv[0][0].shape[2]
        prefix_masked = torch.arange(t, device=self.device)[None, :] >= start[:, None]  # [B, T]
        causal = torch.ones(s_len, s_len, dtype=torch.bool, device=self.device).triu(1)
        causal = causal.repeat(g, 1)  # rows ordered (g, s) like the query rows below
        scale = 1.0 / math.sqrt(hd)
        for li, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x, cos, sin)
            # query rows [B, KVH, G * S, hd]: head h = kvh * G + g, row = g * S + s
            qg = q.view(b, s_len, c.n_kv_heads, g, hd).permute(0, 2, 3, 1, 4).reshape(
                b, c.n_kv_heads, g * s_len, hd)
            ks, vs = k.transpose(1, 2), v.transpose(1, 2)  # [B, KVH, S, hd]
            kp, vp = kv[li]
            sp = torch.matmul(qg, kp.transpose(-1, -2)).float() * scale  # [B, KVH, G*S, T]
            sp.masked_fill_(prefix_masked[:, None, None, :], float("-inf"))
            ss = torch.matmul(qg, ks.transpose(-1, -2)).float() * scale  # [B, KVH, G*S, S]
            ss.masked_fill_(causal[None, None], float("-inf"))
            p = torch.softmax(torch.cat([sp, ss], dim=-1), dim=-1).to(self.dtype)
            a = torch.matmul(p[..., :t], vp) + torch.matmul(p[..., t:], vs)  # [B, KVH, G*S, hd]
            a = a.view(b, c.n_kv_heads, g, s_len, hd).permute(0, 3, 1, 2, 4).reshape(
                b, s_len, -1)
            x = x + F.linear(a, layer.wo)
            x = self._mlp(layer, x)
        return self._rms(x, self.norm)[:, -1]
