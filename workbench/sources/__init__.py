"""Registry of the public datasets the workbench reads: URL, SHA-256, licence, citation.

Files are read from the mirror folder `$WORKBENCH_DATA_MIRROR/<dataset>/` when set, else
downloaded from the pinned upstream URL into a cache; either way every file is checked against
its registered SHA-256.

>>> from workbench.sources import get_dataset, list_datasets
>>> len(list_datasets())
5
>>> get_dataset("sampling-ceilings").licence
'CC BY 4.0'
"""

from workbench.sources.fetch import (
    FileFailure,
    VerifyReport,
    cache_root,
    mirror_root,
    sha256_file,
    verify,
)
from workbench.sources.registry import DATASETS, Dataset, get_dataset, list_datasets

__all__ = [
    "DATASETS", "Dataset", "FileFailure", "VerifyReport", "cache_root", "get_dataset",
    "list_datasets", "mirror_root", "sha256_file", "verify",
]
