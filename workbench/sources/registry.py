"""The registered public datasets: where each file comes from, its licence and citation.

A dataset is a folder of files copied unchanged from one upstream repository at one pinned
commit. Each file is registered by its path inside the folder and its SHA-256; the checksums
live in package data files `checksums/<dataset>.sha256` (the `sha256sum` format) because one
dataset has about 1,600 files.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from workbench.errors import DataSourceError

RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
"""Upstream URL pattern of a file at a pinned commit."""

ProgressHook = Callable[[str], None]
"""Called with a file's path inside its dataset once that file is checked (CLI progress bars)."""


@dataclass(frozen=True)
class Dataset:
    """One registered dataset (a folder of the mirror).

    `upstream_prefix` + the file's path gives its path upstream, unless `upstream_paths` names
    it explicitly (files renamed in the mirror, and licences kept elsewhere upstream).

    >>> ds = get_dataset("qwen25-math-rm")
    >>> ds.licence, ds.importer
    ('MIT', 'qwen25_math')
    >>> ds.url("math_cot_100.jsonl").rsplit("/", 3)[1:]
    ['data', 'eval_rm_maj_example', 'math_cot_100.jsonl']
    """

    name: str
    title: str
    repo: str
    commit: str
    upstream_prefix: str
    licence: str
    citation: str
    importer: str
    description: str = ""
    attribution: str | None = None
    """Set when the licence requires attribution (CC BY): the text to show with the data."""
    upstream_paths: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def checksums(self) -> Mapping[str, str]:
        """Path inside the dataset -> SHA-256 (hex), for EVERY file of the dataset."""
        return MappingProxyType(_load_checksums(self.name))

    @property
    def repo_url(self) -> str:
        return f"https://github.com/{self.repo}/tree/{self.commit}"

    def upstream_path(self, relpath: str) -> str:
        """The file's path in the upstream repository."""
        self._require_file(relpath)
        return self.upstream_paths.get(relpath, self.upstream_prefix + relpath)

    def url(self, relpath: str) -> str:
        """The file's pinned upstream URL (raw.githubusercontent.com at `commit`)."""
        return RAW_URL.format(repo=self.repo, commit=self.commit, path=self.upstream_path(relpath))

    def _require_file(self, relpath: str) -> None:
        if relpath not in self.checksums:
            raise DataSourceError(
                f"dataset {self.name!r} has no file {relpath!r} (it registers "
                f"{len(self.checksums)} files; see `workbench datasets info {self.name}`)"
            )

    def files(self, *, progress: ProgressHook | None = None) -> dict[str, Path]:
        """Every file of the dataset as a local, checksum-verified path.

        Read from `$WORKBENCH_DATA_MIRROR/<name>/` when that variable is set, else downloaded
        into the cache (see `workbench.sources.fetch`). Raises `ChecksumError` on a mismatch.
        """
        from workbench.sources.fetch import dataset_files

        return dataset_files(self, progress=progress)

    def path(self, relpath: str) -> Path:
        """One file of the dataset as a local, checksum-verified path."""
        from workbench.sources.fetch import dataset_file

        self._require_file(relpath)
        return dataset_file(self, relpath)


def _load_checksums(name: str) -> dict[str, str]:
    text = resources.files("workbench.sources").joinpath(f"checksums/{name}.sha256").read_text()
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, relpath = line.partition("  ")
        if not sep or len(digest) != 64 or relpath in out:
            raise DataSourceError(f"checksums/{name}.sha256:{lineno}: malformed or repeated entry")
        out[relpath] = digest
    return out


_TOT = Dataset(
    name="tot-game24",
    title="Tree of Thoughts: Game of 24 logs (GPT-4)",
    repo="princeton-nlp/tree-of-thought-llm",
    commit="ab400345c5ea39d28ea6d7d3be0e417b11113c87",
    upstream_prefix="logs/game24/",
    upstream_paths={"LICENSE": "LICENSE"},
    licence="MIT",
    importer="tot_game24",
    description=(
        "GPT-4 on Game of 24 problems 900-999: 100 chain-of-thought and 100 direct samples per "
        "problem, and a breadth-first search tree with GPT-4 value scores."
    ),
    citation="""@inproceedings{yao2023tree,
  title     = {Tree of Thoughts: Deliberate Problem Solving with Large Language Models},
  author    = {Yao, Shunyu and Yu, Dian and Zhao, Jeffrey and Shafran, Izhak and
               Griffiths, Thomas L. and Cao, Yuan and Narasimhan, Karthik},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2023}
}""",
)

_SAMPLING_CEILINGS = Dataset(
    name="sampling-ceilings",
    title="Per-problem success counts: MATH-500 (Llama-3.2-1B) and Large Language Monkeys",
    repo="bay-yearick-lab/sampling-ceilings",
    commit="351832c1276e57cdc9ba18905f2a87d58473dc20",
    upstream_prefix="paper/data/",
    upstream_paths={"LICENSE": "paper/LICENSE"},
    licence="CC BY 4.0",
    importer="sampling_ceilings",
    description=(
        "MATH-500 with Llama-3.2-1B-Instruct: correct counts out of 256 in each of 5 sessions; "
        "GSM8K and MATH with Llama-3-8B/70B-Instruct: success rates over 10,000 samples "
        "(Large Language Monkeys logs)."
    ),
    attribution=(
        "Data from Bay & Yearick, sampling-ceilings (https://github.com/bay-yearick-lab/"
        "sampling-ceilings), CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); the "
        "Llama-3 counts derive from Brown et al. (2024), Large Language Monkeys. Converted to "
        "the workbench's canonical tables (no values changed)."
    ),
    citation="""@article{bay2026sampling,
  title   = {When More Sampling Hurts: The Modal Ceiling and Correlation Ceiling of
             Test-Time Scaling},
  author  = {Bay, Yong Yi and Yearick, Kathleen A.},
  journal = {arXiv preprint arXiv:2606.28661},
  year    = {2026},
  note    = {Data: https://github.com/bay-yearick-lab/sampling-ceilings, CC BY 4.0}
}
@article{brown2024large,
  title   = {Large Language Monkeys: Scaling Inference Compute with Repeated Sampling},
  author  = {Brown, Bradley and Juravsky, Jordan and Ehrlich, Ryan and Clark, Ronald and
             Le, Quoc V. and R{\\'e}, Christopher and Mirhoseini, Azalia},
  journal = {arXiv preprint arXiv:2407.21787},
  year    = {2024}
}""",
)

_QWEN = Dataset(
    name="qwen25-math-rm",
    title="Qwen2.5-Math: 100 MATH problems x 8 samples with reward-model scores",
    repo="QwenLM/Qwen2.5-Math",
    commit="a45202bd16f1ec06f433442dc1152d0074773465",
    upstream_prefix="evaluation/data/eval_rm_maj_example/",
    # the MIT licence of the evaluation code the example ships with (copyright Zhibin Gou)
    upstream_paths={"LICENSE": "evaluation/LICENSE"},
    licence="MIT",
    importer="qwen25_math",
    description=(
        "100 MATH problems x 8 samples from Qwen2.5-Math-Instruct with per-sample correctness "
        "and Qwen2.5-Math-RM-72B outcome reward scores."
    ),
    citation="""@article{yang2024qwen25math,
  title   = {Qwen2.5-Math Technical Report: Toward Mathematical Expert Model via
             Self-Improvement},
  author  = {Yang, An and Zhang, Beichen and Hui, Binyuan and Gao, Bofei and Yu, Bowen and
             Li, Chengpeng and Liu, Dayiheng and Tu, Jianhong and Zhou, Jingren and
             Lin, Junyang and Lu, Keming and Xue, Mingfeng and Lin, Runji and Liu, Tianyu and
             Ren, Xingzhang and Zhang, Zhenru},
  journal = {arXiv preprint arXiv:2409.12122},
  year    = {2024}
}""",
)

_COMPUTE_OPTIMAL_TTS = Dataset(
    name="compute-optimal-tts",
    title="Compute-optimal TTS: MATH-500, Qwen2.5-1.5B with a process reward model",
    repo="mehmetsakiraslan/compute-optimal-tts",
    commit="ca363f1aa8546568372bf4f9dbba1089881a5b59",
    upstream_prefix="src/output/",
    upstream_paths={"LICENSE": "LICENSE"},
    licence="MIT",
    importer="compute_optimal_tts",
    description=(
        "MATH-500 with Qwen2.5-1.5B-Instruct: best-of-N samples and a PRM-guided beam search, "
        "each step scored by math-shepherd-mistral-7b-prm."
    ),
    citation="""@article{liu2025can,
  title   = {Can 1B LLM Surpass 405B LLM? Rethinking Compute-Optimal Test-Time Scaling},
  author  = {Liu, Runze and Gao, Junqi and Zhao, Jian and Zhang, Kaiyan and Li, Xiu and
             Qi, Biqing and Ouyang, Wanli and Zhou, Bowen},
  journal = {arXiv preprint arXiv:2502.06703},
  year    = {2025}
}
@misc{computeoptimaltts_outputs,
  title        = {compute-optimal-tts: MATH-500 outputs (src/output)},
  howpublished = {https://github.com/mehmetsakiraslan/compute-optimal-tts},
  note         = {commit ca363f1aa8546568372bf4f9dbba1089881a5b59}
}""",
)

_REFLEXION = Dataset(
    name="reflexion",
    title="Reflexion: HumanEval (Python) with GPT-4, single attempts and revision chains",
    repo="noahshinn/reflexion",
    commit="218cf0ef1df84b05ce379dd4a8e47f17766733a0",
    upstream_prefix="programming_runs/root/",
    upstream_paths={
        "LICENSE": "LICENSE",
        "reflexion_humaneval_py_gpt4.jsonl": (
            "programming_runs/root/reflexion_humaneval_py_pass_at_1/"
            "reflexion_humaneval_py_pass_at_1.jsonl"
        ),
        "simple_humaneval_py_gpt4.jsonl": (
            "programming_runs/root/simple_human_eval_py_logging/"
            "humaneval-py..gz_simple_1_gpt-4_pass_at_k_1_py.jsonl"
        ),
    },
    licence="MIT",
    importer="reflexion",
    description=(
        "HumanEval (164 problems) with GPT-4: one attempt per problem, and up to 5 sequential "
        "attempts with self-reflection between them."
    ),
    citation="""@inproceedings{shinn2023reflexion,
  title     = {Reflexion: Language Agents with Verbal Reinforcement Learning},
  author    = {Shinn, Noah and Cassano, Federico and Gopinath, Ashwin and
               Narasimhan, Karthik and Yao, Shunyu},
  booktitle = {Advances in Neural Information Processing Systems},
  year      = {2023}
}""",
)

DATASETS: Mapping[str, Dataset] = MappingProxyType(
    {d.name: d for d in (_TOT, _SAMPLING_CEILINGS, _QWEN, _COMPUTE_OPTIMAL_TTS, _REFLEXION)}
)
"""Every registered dataset by name (= its folder in the mirror)."""


def list_datasets() -> list[Dataset]:
    """The registered datasets, in registry order.

    >>> [d.name for d in list_datasets()][:2]
    ['tot-game24', 'sampling-ceilings']
    """
    return list(DATASETS.values())


def get_dataset(name: str) -> Dataset:
    """The registered dataset `name`; a `DataSourceError` listing the names otherwise.

    >>> get_dataset("reflexion").repo
    'noahshinn/reflexion'
    """
    try:
        return DATASETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, DATASETS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise DataSourceError(
            f"no registered dataset {name!r}; {hint}registered: {', '.join(DATASETS)}"
        ) from None

