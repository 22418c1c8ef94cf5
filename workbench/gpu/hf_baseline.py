"""The baseline of `benchmarks/generation.py`: the same weights in a Hugging Face transformers
model, sampled with plain `model.generate` (what research code does by default)."""

from __future__ import annotations

from typing import Any

import torch

from workbench.gpu.decoder import Decoder


def hf_model(dec: Decoder) -> Any:
    """A transformers Qwen2/Llama causal LM holding exactly `dec`'s weights."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    c = dec.cfg
    common = dict(vocab_size=c.vocab, hidden_size=c.hidden, intermediate_size=c.ffn,
                  num_hidden_layers=c.n_layers, num_attention_heads=c.n_heads,
                  num_key_value_heads=c.n_kv_heads, rms_norm_eps=c.rms_eps,
                  max_position_embeddings=32768,
                  rope_parameters={"rope_type": "default", "rope_theta": c.rope_theta},
                  rope_theta=c.rope_theta, tie_word_embeddings=dec.lm_head is dec.embed)
    if c.arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    else:
        model = LlamaForCausalLM(LlamaConfig(**common, attention_bias=False, mlp_bias=False))
    hd = c.head_dim
    sd: dict[str, torch.Tensor] = {"model.embed_tokens.weight": dec.embed,
                                   "model.norm.weight": dec.norm, "lm_head.weight": dec.lm_head}
    for i, lay in enumerate(dec.layers):
        p = f"model.layers.{i}."
        q, k, v = lay.wqkv.split([c.n_heads * hd, c.n_kv_heads * hd, c.n_kv_heads * hd])
        sd |= {p + "self_attn.q_proj.weight": q, p + "self_attn.k_proj.weight": k,
               p + "self_attn.v_proj.weight": v, p + "self_attn.o_proj.weight": lay.wo,
               p + "input_layernorm.weight": lay.norm_attn,
               p + "post_attention_layernorm.weight": lay.norm_ffn}
        if lay.bqkv is not None:
            qb, kb, vb = lay.bqkv.split([c.n_heads * hd, c.n_kv_heads * hd, c.n_kv_heads * hd])
            sd |= {p + "self_attn.q_proj.bias": qb, p + "self_attn.k_proj.bias": kb,
                   p + "self_attn.v_proj.bias": vb}
        gate, up = lay.w_gate_up.chunk(2)
        sd |= {p + "mlp.gate_proj.weight": gate, p + "mlp.up_proj.weight": up,
               p + "mlp.down_proj.weight": lay.w_down}
    missing, unexpected = model.load_state_dict({k: v.contiguous() for k, v in sd.items()},
                                                strict=False)
    missing = [m for m in missing if not m.endswith("rotary_emb.inv_freq")]
    if missing or unexpected:
        raise RuntimeError(f"weights do not match the HF model: missing {missing[:3]}, "
                           f"unexpected {unexpected[:3]}")
    return model.to(device=dec.device, dtype=dec.dtype).eval()
