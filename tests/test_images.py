"""Image inputs: hashes and near matches, the image folder reader, planted duplicates and drift."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from auditor.facts.images import (
    NEAR_BITS,
    THUMBNAIL,
    difference_hashes,
    hamming,
    near_within,
    nearest,
    pixel_hashes,
    thumbnail,
)


def _digits():
    data = load_digits()
    return np.round(data.images * (255 / 16)).astype(np.uint8), data.target


def _write(folder: Path, images, labels, fmt="png", quality=None):
    from PIL import Image

    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        target = folder / str(int(label))
        target.mkdir(parents=True, exist_ok=True)
        options = {"quality": quality} if quality else {}
        Image.fromarray(np.asarray(image, np.uint8), mode="L").save(
            target / f"{i:05d}.{fmt}", **options
        )


def _bits(a, b):
    """Bit distance of two 128-bit hashes, counted bit by bit."""
    return sum(bin(int(x) ^ int(y)).count("1") for x, y in zip(a, b, strict=True))


# ---- hashes -------------------------------------------------------------------------------------


def test_difference_hash_ignores_brightness_and_contrast_and_separates_other_digits():
    images, _ = _digits()
    x = images[:200].astype(np.float32)
    h = difference_hashes(x)
    # A uniform change of brightness and contrast (no clipping) moves no bit.
    assert (difference_hashes(0.8 * x + 20) == h).all()
    # Other digits are far: the nearest other image is more than NEAR_BITS bits away for most.
    _, distance = near_within(h, pixel_hashes(x))
    assert np.mean(distance > NEAR_BITS) > 0.95


def test_difference_hash_survives_jpeg_recompression(tmp_path):
    from PIL import Image

    images, _ = _digits()
    moved = []
    for image in images[:100]:
        big = np.kron(image, np.ones((4, 4), np.uint8))  # 32 x 32, as photos are larger
        buffer = io.BytesIO()
        Image.fromarray(big, mode="L").save(buffer, format="JPEG", quality=85)
        back = np.asarray(Image.open(io.BytesIO(buffer.getvalue())), np.float32)
        moved.append(_bits(*difference_hashes(np.stack([big, back]).astype(np.float32))))
    assert np.mean(np.array(moved) <= NEAR_BITS) >= 0.9


def test_hamming_and_nearest_agree_with_counting_bits():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**63, size=(7, 2), dtype=np.uint64)
    b = rng.integers(0, 2**63, size=(11, 2), dtype=np.uint64)
    d = hamming(a, b)
    assert d.shape == (7, 11)
    for i in range(7):
        for j in range(11):
            assert d[i, j] == _bits(a[i], b[j])
    index, distance = nearest(a, b)
    np.testing.assert_array_equal(distance, d.min(axis=1))
    np.testing.assert_array_equal(d[np.arange(7), index], distance)
    index, distance = nearest(a, b[:0])
    assert (index == -1).all() and (distance == 129).all()


def test_near_within_skips_exact_copies_and_pixel_hashes_tell_them():
    images, _ = _digits()
    x = images[:20].astype(np.float32)
    x = np.concatenate([x, x[:1], x[:1] + 1.0])  # an exact copy of 0, and a brightened one
    p = pixel_hashes(x)
    assert p[20] == p[0] and p[21] != p[0] and len(np.unique(p)) == 21
    index, distance = near_within(difference_hashes(x), p)
    assert index[21] in (0, 20) and distance[21] == 0  # near, not identical
    assert index[0] == 21  # its exact copy (row 20) is not its near match


def test_thumbnail_is_bounded_and_stretched():
    small = np.arange(64, dtype=np.float32).reshape(8, 8)
    t = thumbnail(small)
    assert t.shape == (64, 64, 1) and t.dtype == np.uint8 and (t.min(), t.max()) == (0, 255)
    big = np.zeros((300, 200, 3), np.float32)
    big[:, :, 0] = 1
    assert max(thumbnail(big).shape[:2]) <= THUMBNAIL and thumbnail(big).shape[2] == 3


# ---- the image folder reader --------------------------------------------------------------------


def test_folder_reader_lists_classes_and_files_as_keras_does(tmp_path):
    from auditor.loading.readers.image_folder import ImageFolderReader

    images, labels = _digits()
    _write(tmp_path, images[:30], labels[:30])
    reader = ImageFolderReader(tmp_path)
    assert reader.classes == tuple(sorted({str(v) for v in labels[:30]}))
    assert len(reader.files) == 30
    for row in (0, 13, 29):
        assert reader.files[row].parent.name == reader.classes[reader.labels[row]]


def test_folder_reader_resizes_as_image_dataset_from_directory(tmp_path):
    import keras

    from auditor.loading.readers.image_folder import ImageFolderReader

    images, labels = _digits()
    _write(tmp_path, images[:12], labels[:12])
    reader = ImageFolderReader(tmp_path)
    reader.target = (12, 10, 1)  # not the stored 8 x 8: resized
    shards = reader.shards([], "y", 5, 5)
    assert [s.first_row for s in shards] == [0, 5, 10]
    ours = np.concatenate([b[0] for shard in shards for b in shard.batches()])
    theirs = keras.utils.image_dataset_from_directory(
        tmp_path, image_size=(12, 10), color_mode="grayscale", shuffle=False, batch_size=64
    )
    x, y = next(iter(theirs))
    assert sorted(theirs.file_paths) == sorted(str(f) for f in reader.files)
    order = [theirs.file_paths.index(str(f)) for f in reader.files]
    np.testing.assert_allclose(ours, np.asarray(x)[order], atol=1e-4)
    np.testing.assert_array_equal(reader.labels, np.asarray(y)[order])
    sizes = next(reader.shards([], "y", 12, 12)[0].batches())[2]
    assert (sizes == [8, 8]).all()


def test_empty_class_folder_is_one_line(tmp_path):
    from auditor.errors import DataError
    from auditor.loading.readers.image_folder import ImageFolderReader

    images, labels = _digits()
    _write(tmp_path, images[:5], labels[:5])
    (tmp_path / "zebra").mkdir()
    with pytest.raises(DataError) as caught:
        ImageFolderReader(tmp_path)
    message = str(caught.value)
    assert "class folder 'zebra' holds no PNG or JPEG file" in message and "\n" not in message


def test_malformed_image_file_is_one_line(tmp_path):
    from auditor.errors import DataError
    from auditor.loading.readers.image_folder import ImageFolderReader

    images, labels = _digits()
    _write(tmp_path, images[:5], labels[:5])
    broken = tmp_path / str(labels[0]) / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot an image at all")
    reader = ImageFolderReader(tmp_path)
    reader.target = (8, 8, 1)
    with pytest.raises(DataError) as caught:
        for shard in reader.shards([], "y", 4, 4):
            list(shard.batches())
    message = str(caught.value)
    assert message.startswith(f"{broken}: not a readable PNG or JPEG image")
    assert "\n" not in message


# ---- audits on planted defects ------------------------------------------------------------------


def _build_module():
    """samples/build.py as a module (samples/ is no package)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "samples" / "build.py"
    spec = importlib.util.spec_from_file_location("sample_build", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cnn():
    """A small CNN on 8 x 8 digits, untrained: the data checks do not depend on its skill."""
    import keras

    keras.utils.set_random_seed(0)
    model = _build_module().small_cnn(keras)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def _split(images, labels, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    return images[order[:1200]], labels[order[:1200]], images[order[1200:]], labels[order[1200:]]


def _results(report):
    return {r.rule.id: r for r in report.results}


def test_planted_exact_and_jittered_copies_across_splits_fail_lk01(tmp_path, cnn):
    from auditor.api import audit

    images, labels = _digits()
    x_train, y_train, x_val, y_val = _split(images, labels)
    # 40 validation images replaced by training images: 20 exact, 20 brighter and re-scaled.
    x_val, y_val = x_val.copy(), y_val.copy()
    x_val[:20], y_val[:20] = x_train[:20], y_train[:20]
    jitter = np.clip(x_train[20:40].astype(np.float32) * 0.9 + 12, 0, 255)
    x_val[20:40], y_val[20:40] = np.round(jitter).astype(np.uint8), y_train[20:40]
    _write(tmp_path / "train", x_train, y_train)
    _write(tmp_path / "val", x_val, y_val)
    report = audit(cnn, train=tmp_path / "train", val=tmp_path / "val")
    lk01 = _results(report)["LK01"]
    assert lk01.status == "failed"
    assert lk01.observed["shared_rows"] == 20
    assert lk01.observed["near_duplicate_rows"] >= 18  # the jittered ones, as near copies
    assert lk01.message.startswith(f"20 of {len(x_val):,} val images (")
    assert "scored on images it was trained on" in lk01.message
    shown = lk01.evidence["shared_rows"]
    assert shown[0]["match"] == "exact"
    assert re.fullmatch(r"\d/\d{5}\.png", shown[0]["val_file"])
    assert shown[0]["train_file"].split("/")[0] == shown[0]["val_file"].split("/")[0]
    html = report.write_html(tmp_path / "report.html").read_text()
    finding = html[html.index('id="rule-LK01"') :]
    finding = finding[: finding.index('<div class="finding', 10)]
    assert finding.count("<img ") == 8  # 4 pairs, bounded
    assert 'width="64"' in finding
    assert "Image pairs" in finding


def test_clean_digit_folders_raise_no_data_finding_and_per_column_checks_do_not_apply(
    tmp_path, cnn
):
    from auditor.api import audit

    images, labels = _digits()
    x_train, y_train, x_val, y_val = _split(images, labels)
    _write(tmp_path / "train", x_train, y_train)
    _write(tmp_path / "val", x_val, y_val)
    report = audit(cnn, train=tmp_path / "train", val=tmp_path / "val")
    found = _results(report)
    for rule in ("LK01", "LK02", "DR01", "CI01"):
        assert found[rule].status == "passed", (rule, found[rule].message)
    assert " train images duplicate another image" in found["LK02"].message
    for rule in ("LK03", "LK04", "LK05"):
        assert found[rule].status == "not_applicable"
        assert "images have no feature columns" in found[rule].message
    data = json.loads(report.to_json())
    assert data["model"]["input_kind"] == "image"
    assert "bilinear" in data["splits"]["val"]["reading"]
    assert data["splits"]["train"]["n_rows"] == 1200
    # Stored sizes are all 8 x 8 (constant: no drift to measure); the mean intensity is compared.
    compared = report.evaluation.data.drift["val"].features
    assert [f["feature"] for f in compared] == ["mean_intensity"]


def test_duplicates_within_train_and_drift_of_brightness(tmp_path, cnn):
    from auditor.api import audit

    images, labels = _digits()
    x_train, y_train, x_val, y_val = _split(images, labels)
    x_train, y_train = x_train.copy(), y_train.copy()
    x_train[100:200], y_train[100:200] = x_train[:100], y_train[:100]  # 100 exact duplicates
    dim = np.round(x_val.astype(np.float32) * 0.5).astype(np.uint8)  # every val image darker
    _write(tmp_path / "train", x_train, y_train)
    _write(tmp_path / "val", dim, y_val)
    found = _results(audit(cnn, train=tmp_path / "train", val=tmp_path / "val"))
    assert found["LK02"].status == "failed"
    assert found["LK02"].observed["duplicate_rows"] == 100
    assert found["DR01"].status == "failed"
    assert "mean_intensity" in found["DR01"].message


def test_arrays_npz_and_tf_dataset_give_the_folder_s_metrics(tmp_path, cnn):
    import tensorflow as tf

    from auditor.api import audit

    images, labels = _digits()
    x_train, y_train, x_val, y_val = _split(images, labels)
    _write(tmp_path / "train", x_train, y_train)
    _write(tmp_path / "val", x_val, y_val)
    folder = audit(cnn, train=tmp_path / "train", val=tmp_path / "val")
    # The folder lists files class by class: the same images in that order.
    order_train = np.argsort(y_train, kind="stable")
    order_val = np.argsort(y_val, kind="stable")
    xt, yt = x_train[order_train].astype(np.float32), y_train[order_train]
    xv, yv = x_val[order_val].astype(np.float32), y_val[order_val]
    arrays = audit(cnn, train=(xt, yt), val=(xv[..., None], yv))
    np.savez(tmp_path / "train.npz", x=xt, y=yt)
    np.savez(tmp_path / "val.npz", x=xv, y=yv)
    npz = audit(cnn, train=tmp_path / "train.npz", val=tmp_path / "val.npz")
    batches = tf.data.Dataset.from_tensor_slices((xv[..., None], yv)).batch(100)
    dataset = audit(cnn, train=(xt, yt), val=batches)
    expected = folder.evaluation.splits["val"].metrics["log_loss"]
    for other in (arrays, npz, dataset):
        assert other.evaluation.splits["val"].metrics["log_loss"] == pytest.approx(expected)
        assert other.evaluation.model.input_kind == "image"


def test_images_of_another_size_than_the_model_takes_are_one_line(tmp_path, cnn):
    from auditor.api import audit
    from auditor.errors import DataError

    x = np.zeros((30, 10, 10), np.float32)
    y = np.arange(30) % 10
    with pytest.raises(DataError) as caught:
        audit(cnn, train=(x, y), val=(x, y))
    assert "the images are 10 x 10 x 1" in str(caught.value)
    assert "the model takes 8 x 8 x 1" in str(caught.value)


def test_a_table_for_an_image_model_is_refused_in_one_line(tmp_path, cnn):
    from auditor.api import audit
    from auditor.errors import DataError

    x = np.zeros((30, 64), np.float32)
    y = np.arange(30) % 10
    with pytest.raises(DataError, match="the model takes images of shape"):
        audit(cnn, train=(x, y), val=(x, y))


# ---- the image sample and an overfit CNN (train Keras models) -----------------------------------


@pytest.mark.slow
def test_image_sample_passes_from_the_command_line(tmp_path):
    import jsonschema
    from click.testing import CliRunner
    from test_samples import _build

    from auditor.cli import main

    folder = _build("image")
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "audit",
            str(folder / "model.keras"),
            "--train",
            str(folder / "train"),
            "--val",
            str(folder / "val"),
            "--out",
            str(out),
            "--format",
            "json,html,md",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    schema = json.loads(
        (Path(__file__).resolve().parent.parent / "auditor/report/report.schema.json").read_text()
    )
    jsonschema.validate(data, schema)
    assert data["verdict"] == "pass"
    assert data["model"]["input_kind"] == "image"
    assert data["splits"]["train"]["n_rows"] + data["splits"]["val"]["n_rows"] == 1797
    assert data["splits"]["val"]["metrics"]["accuracy"] > 0.9
    assert "image_dataset_from_directory" in data["splits"]["val"]["reading"]
    html = (out / "report.html").read_text()
    assert "<dt>Input kind</dt><dd>image</dd>" in html
    engine = data["engine"]
    assert f"<dt>Engine</dt><dd>local: 1 worker, {engine['shards']} shard" in html
    summary = (out / "summary.md").read_text()
    assert f"train {data['splits']['train']['n_rows']:,} images" in summary
    assert "image input)" in summary


@pytest.mark.slow
def test_a_malformed_image_in_a_folder_exits_2_with_one_line(tmp_path):
    from click.testing import CliRunner
    from test_samples import _build

    from auditor.cli import main

    folder = _build("image")
    images, labels = _digits()
    _write(tmp_path / "val", images[:40], labels[:40])
    broken = tmp_path / "val" / "3" / "zz.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    result = CliRunner().invoke(
        main,
        [
            "audit",
            str(folder / "model.keras"),
            "--train",
            str(folder / "train"),
            "--val",
            str(tmp_path / "val"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert lines == [lines[0]] and f"{broken}: not a readable PNG or JPEG image" in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.slow
def test_overfit_cnn_gets_loss_gap_and_l2_with_dropout_advice_for_conv_and_dense(tmp_path):
    import keras

    from auditor.api import audit

    images, labels = _digits()
    x_train, y_train, x_val, y_val = _split(images, labels)
    few_x, few_y = x_train[:80, ..., None].astype(np.float32), y_train[:80]
    keras.utils.set_random_seed(3)
    model = _build_module().small_cnn(keras, filters=16, dense=64)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(few_x, few_y, epochs=250, batch_size=16, verbose=0)
    report = audit(model, train=(few_x, few_y), val=(x_val.astype(np.float32), y_val))
    found = _results(report)
    assert found["OF01"].status == "failed"
    train_loss = report.evaluation.splits["train"].metrics["loss"]
    val_loss = report.evaluation.splits["val"].metrics["loss"]
    assert val_loss - train_loss > 0.15
    top = report.recommendations[0]
    assert top.action == "increase_l2"
    assert top.layers == ("conv", "dense")  # the output layer is left alone
    assert 'keras.layers.Conv2D(16, (3, 3), activation="relu", name="conv",' in top.snippet
    assert 'keras.layers.Dense(64, activation="relu", name="dense",' in top.snippet
    assert "SpatialDropout2D(0.1-0.2) after the convolution blocks" in top.reason
    assert "Dropout(0.2-0.5) after the hidden dense layers" in top.reason
    assert report.evaluation.weight_analysis.feature_mass == {}  # pixels have no names


def test_image_batches_are_capped_by_their_bytes(tmp_path, monkeypatch):
    import auditor.loading.data as data
    from auditor.loading.inputs import InputSpec

    x = np.zeros((95, 16, 16, 3), np.uint8)
    np.savez(tmp_path / "val.npz", x=x, y=np.arange(95) % 2)
    monkeypatch.setattr(data, "IMAGE_BATCH_BYTES", 16 * 16 * 3 * 4 * 20)
    options = data.ReadOptions(inputs=(InputSpec("image", (None, 16, 16, 3)),), batch_rows=50)
    reader = data.SplitReader("val", tmp_path / "val.npz", options)
    sizes = [len(b) for b in reader.batches()]
    assert sizes == [20, 20, 20, 20, 15]
    first = next(iter(reader.batches()))
    assert first.x.shape == (20, 16, 16, 3) and first.table.shape == (20, 3)
