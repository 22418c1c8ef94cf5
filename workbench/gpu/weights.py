"""GGUF -> PyTorch weights of a Llama / Qwen2 decoder, and the tokenizer stored in the file.

The GGUF is read with the `gguf` package (the llama.cpp project's reader) and every tensor is
de-quantised with its reference numpy kernels, in threads (numpy releases the GIL in them).
llama.cpp's converter permutes the Q/K rows of Llama checkpoints for its interleaved RoPE; they
are permuted back here so the decoder can use the Hugging Face ("rotate half") RoPE for both
architectures (Qwen2 files are stored unpermuted).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import CollectError

ARCHITECTURES = ("llama", "qwen2")


@dataclass(frozen=True)
class DecoderConfig:
    """Shape of a decoder-only transformer, as read from the GGUF metadata."""

    arch: str
    n_layers: int
    hidden: int
    n_heads: int
    n_kv_heads: int
    ffn: int
    vocab: int
    rope_theta: float
    rms_eps: float
    name: str = ""

    @property
    def head_dim(self) -> int:
        return self.hidden // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    if f is None:
        raise CollectError(f"GGUF metadata lacks {key!r}")
    return f.contents()


def read_gguf(path: str | Path, *, threads: int = 8) -> tuple[DecoderConfig, dict[str, np.ndarray]]:
    """Config and de-quantised float32 weights (HF orientation: [out, in]) of a GGUF file."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    path = Path(path)
    if not path.is_file():
        raise CollectError(f"{path}: no such GGUF file")
    reader = GGUFReader(str(path))
    arch = str(_field(reader, "general.architecture"))
    if arch not in ARCHITECTURES:
        raise CollectError(f"{path}: architecture {arch!r} is not supported "
                           f"(supported: {', '.join(ARCHITECTURES)})")
    cfg = DecoderConfig(
        arch=arch,
        n_layers=int(_field(reader, f"{arch}.block_count")),
        hidden=int(_field(reader, f"{arch}.embedding_length")),
        n_heads=int(_field(reader, f"{arch}.attention.head_count")),
        n_kv_heads=int(_field(reader, f"{arch}.attention.head_count_kv")),
        ffn=int(_field(reader, f"{arch}.feed_forward_length")),
        vocab=0,
        rope_theta=float(reader.fields[f"{arch}.rope.freq_base"].contents())
        if f"{arch}.rope.freq_base" in reader.fields else 10000.0,
        rms_eps=float(_field(reader, f"{arch}.attention.layer_norm_rms_epsilon")),
        name=str(reader.fields["general.name"].contents()) if "general.name" in reader.fields
        else path.stem,
    )

    def one(t: Any) -> tuple[str, np.ndarray]:
        # a copy: F32 tensors come back as read-only views of the memory-mapped file
        w = np.array(dequantize(t.data, t.tensor_type), dtype=np.float32)
        shape = tuple(int(x) for x in reversed(t.shape))  # GGUF lists ne0 (fastest) first
        return t.name, w.reshape(shape)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        weights = dict(pool.map(one, reader.tensors))
    if arch == "llama":  # undo llama.cpp's Q/K permutation (convert_hf_to_gguf.py: permute)
        for i in range(cfg.n_layers):
            for name, heads in (("attn_q", cfg.n_heads), ("attn_k", cfg.n_kv_heads)):
                key = f"blk.{i}.{name}.weight"
                w = weights[key]
                weights[key] = (w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:])
                                .swapaxes(1, 2).reshape(w.shape))
    vocab = weights["token_embd.weight"].shape[0]
    return DecoderConfig(**{**asdict(cfg), "vocab": vocab}), weights


def load_tokenizer(path: str | Path) -> Any:
    """The tokenizer stored in the GGUF file (transformers converts it)."""
    from transformers import AutoTokenizer

    path = Path(path)
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def sha256_of(path: str | Path, *, chunk: int = 1 << 24) -> str:
    """SHA-256 of a file (model files are pinned by it, like datasets)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
