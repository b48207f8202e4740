import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from latentlab.data import load
from latentlab.data.files import center_crop_resize, load_celeba, load_idx, load_image_folder, load_npz, read_idx


def _to_unit(pixels):
    """uint8 (H, W[, C]) -> expected tensor (C, H, W) in [-1, 1]."""
    a = np.asarray(pixels, dtype=np.float32)
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return torch.from_numpy(a / 127.5 - 1)


def _save(path, pixels, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode=mode).save(path)
    return path


@pytest.fixture
def count_opens(monkeypatch):
    """Counts PIL.Image.open calls (still opening the files)."""
    calls = []
    original = Image.open

    def counting(fp, *args, **kwargs):
        calls.append(fp)
        return original(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting)
    return calls


# -- image folders ----------------------------------------------------------------------
@pytest.fixture
def rgb_folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "pics"
    pixels = {}
    for rel in ["b/two.png", "a/one.png", "three.png", "a/sub/four.bmp"]:
        pixels[rel] = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
        _save(root / rel, pixels[rel])
    (root / "notes.txt").write_text("not an image")
    return root, pixels


def test_folder_round_trip_in_sorted_order(rgb_folder):
    root, pixels = rgb_folder
    d = load(root)
    order = sorted(pixels)  # relative paths: a/one.png, a/sub/four.bmp, b/two.png, three.png
    assert [p.relative_to(root).as_posix() for p in d.source.files] == order
    assert d.sample_shape == (3, 12, 12) and d.name == "pics"
    for i, rel in enumerate(order):
        torch.testing.assert_close(d.get([i])[0], _to_unit(pixels[rel]), rtol=0, atol=1e-6)
    assert load_image_folder(root, limit=2).source.files == d.source.files[:2]


def test_folder_channels_inferred_and_converted(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    _save(tmp_path / "g" / "x.png", gray)
    d = load_image_folder(tmp_path / "g")
    assert d.sample_shape == (1, 8, 8)
    torch.testing.assert_close(d.get([0])[0], _to_unit(gray), rtol=0, atol=1e-6)
    rgb = load_image_folder(tmp_path / "g", channels=3).get([0])[0]
    assert rgb.shape == (3, 8, 8) and torch.equal(rgb[0], rgb[1]) and torch.equal(rgb[1], rgb[2])
    red = np.zeros((8, 8, 3), dtype=np.uint8)
    red[..., 0] = 255
    _save(tmp_path / "r" / "red.png", red)
    luma = load_image_folder(tmp_path / "r", channels=1).get([0])
    assert luma.shape == (1, 1, 8, 8)
    # ITU-R 601-2 luma of pure red: 0.299 * 255 = 76.2
    torch.testing.assert_close(luma, torch.full_like(luma, 76 / 127.5 - 1), rtol=0, atol=1.5 / 127.5)


def test_folder_centre_crop_and_resize(tmp_path):
    tall = np.zeros((60, 40, 3), dtype=np.uint8)  # H=60, W=40
    tall[:10] = (255, 0, 0)
    tall[10:50] = (0, 255, 0)
    tall[50:] = (0, 0, 255)
    _save(tmp_path / "f" / "tall.png", tall)
    x = load_image_folder(tmp_path / "f", size=20).get([0])[0]
    # the centred 40x40 square is all green; the red and blue bands are cropped away
    assert x.shape == (3, 20, 20)
    torch.testing.assert_close(x, torch.tensor([-1.0, 1.0, -1.0]).view(3, 1, 1).expand(3, 20, 20), rtol=0, atol=1e-5)
    halves = np.zeros((40, 40), dtype=np.uint8)
    halves[:, 20:] = 255
    _save(tmp_path / "h" / "halves.png", halves)
    y = load_image_folder(tmp_path / "h", size=10).get([0])[0, 0]
    assert y.shape == (10, 10)
    assert torch.all(y[:, :4] < -0.95) and torch.all(y[:, 6:] > 0.95)
    assert torch.all(torch.diff(y.mean(dim=0)) >= -1e-6)  # a monotone edge, no ringing past it
    # a downscale by 2 averages the image: the mean brightness is kept
    assert abs(float(y.mean())) < 1e-3


def test_folder_with_attributes_csv(rgb_folder, tmp_path):
    root, pixels = rgb_folder
    (root / "attributes.csv").write_text(
        "file,smiling,colour\n"
        "a/one.png,1,2\n"
        "two.png,0,0\n"  # a file name alone is enough when unique
        "./three.png,1,1\n"
        "a/sub/four.bmp,0,2\n"
        "not-loaded.png,1,1\n"
    )
    d = load(root)
    np.testing.assert_array_equal(d.attrs["smiling"], [1, 0, 0, 1])  # a/one, a/sub/four, b/two, three
    np.testing.assert_array_equal(d.attrs["colour"], [2, 2, 0, 1])
    assert d.attr_levels["smiling"] == ["no", "yes"]
    other = tmp_path / "labels.csv"
    other.write_text("file,x\none.png,1\ntwo.png,1\nthree.png,0\nfour.bmp,1\n")
    np.testing.assert_array_equal(load_image_folder(root, attributes=other).attrs["x"], [1, 1, 1, 0])


@pytest.mark.parametrize(
    "text, message",
    [
        ("file,smiling\na/one.png,1\nb/two.png,0\nthree.png,1\n", "four.bmp"),
        ("name,smiling\n", "column named 'file'"),
        ("file,smiling\na/one.png,yes\n", "line 2.*'smiling'.*must be integers"),
        ("file,smiling\na/one.png,-1\n", "non-negative"),
        ("file,smiling\na/one.png,1\none.png,1\n", "listed twice"),
    ],
)
def test_folder_attribute_csv_errors(rgb_folder, text, message):
    root, _ = rgb_folder
    (root / "attrs.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_image_folder(root)


def test_folder_is_lazy(rgb_folder, count_opens, monkeypatch):
    root, _ = rgb_folder
    d = load_image_folder(root, size=8, channels=3)
    assert count_opens == []  # only listed
    x = d.get([2, 0])
    assert x.shape == (2, 3, 8, 8) and len(count_opens) == 2
    # inferring size/channels reads headers only: no pixel data is decoded
    decoded = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1) or original(self))
    d = load_image_folder(root)
    assert decoded == []
    d.get([0])
    assert len(decoded) >= 1


def test_folder_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"no images found.*\.png, \.jpg"):
        load_image_folder(tmp_path / "empty")
    mixed = tmp_path / "mixed"
    _save(mixed / "a.png", np.zeros((8, 8), dtype=np.uint8))
    _save(mixed / "b.png", np.zeros((8, 8, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"a\.png is L \(1 channel\).*b\.png is RGB \(3 channels\).*channels=1 or channels=3"):
        load_image_folder(mixed)
    assert load_image_folder(mixed, channels=3).get([0, 1]).shape == (2, 3, 8, 8)
    sizes = tmp_path / "sizes"
    _save(sizes / "a.png", np.zeros((8, 8), dtype=np.uint8))
    _save(sizes / "b.png", np.zeros((9, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"different sizes.*size="):
        load_image_folder(sizes)
    assert load_image_folder(sizes, size=4).get([1]).shape == (1, 1, 4, 4)
    broken = tmp_path / "broken"
    _save(broken / "good.png", np.zeros((8, 8), dtype=np.uint8))
    (broken / "bad.png").write_bytes(b"definitely not a png")
    with pytest.raises(ValueError, match=r"cannot read image .*bad\.png"):
        load_image_folder(broken)
    lazy = load_image_folder(broken, size=8, channels=1)  # nothing read yet
    with pytest.raises(ValueError, match=r"cannot read image .*bad\.png"):
        lazy.get([0])
    with pytest.raises(ValueError, match="channels must be"):
        load_image_folder(broken, channels=2)
    with pytest.raises(TypeError, match="valid options: .*size"):
        load(broken, sise=3)


# -- CelebA -------------------------------------------------------------------------------
_CELEBA_NAMES = ["5_o_Clock_Shadow", "Smiling", "Male"] + [f"Attr{i}" for i in range(37)]


def _write_celeba(root, colours, labels, anno=False, partition=None, bad_line=None):
    for i, colour in enumerate(colours):
        img = np.zeros((218, 178, 3), dtype=np.uint8)
        img[:] = (255, 255, 255)  # the 20 rows above and below the centred square
        img[20:198] = colour
        _save(root / "img_align_celeba" / f"{i + 1:06d}.jpg", img)
    lines = [str(len(colours)), " ".join(_CELEBA_NAMES)]
    for i, row in enumerate(labels):
        lines.append(f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in row))
    if bad_line is not None:
        lines[bad_line] += " 1"
    attr = root / ("Anno" if anno else "") / "list_attr_celeba.txt"
    attr.parent.mkdir(parents=True, exist_ok=True)
    attr.write_text("\n".join(lines) + "\n")
    if partition is not None:
        (root / "list_eval_partition.txt").write_text("".join(f"{i + 1:06d}.jpg {p}\n" for i, p in enumerate(partition)))


@pytest.fixture
def celeba(tmp_path):
    rng = np.random.default_rng(1)
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (120, 120, 120)]
    labels = rng.choice([-1, 1], size=(4, 40))
    root = tmp_path / "celeba"
    _write_celeba(root, colours, labels, partition=[0, 0, 1, 2])
    return root, colours, labels


def test_celeba_round_trip(celeba, count_opens):
    root, colours, labels = celeba
    d = load(root)  # detected as CelebA
    assert count_opens == []  # lazy
    assert len(d) == 4 and d.attribute_names == _CELEBA_NAMES and d.info["split"] is None
    np.testing.assert_array_equal(d.labels(), (labels + 1) // 2)  # -1/+1 -> 0/1
    x = d.get(np.arange(4))
    assert x.shape == (4, 3, 64, 64) and len(count_opens) == 4
    expected = torch.tensor(colours, dtype=torch.float32) / 127.5 - 1
    # the white bands are cropped away: each image is its uniform colour (JPEG: within a few levels)
    torch.testing.assert_close(x.mean(dim=(2, 3)), expected, rtol=0, atol=0.03)
    # JPEG rings a little at the band edges; a crop one row off would let the white band
    # in and miss by ~0.5 on the edge rows
    assert (x - expected[:, :, None, None]).abs().max() < 0.15


def test_celeba_splits_anno_and_size(celeba, tmp_path):
    root, colours, labels = celeba
    assert len(load_celeba(root, split="train")) == 2
    valid = load_celeba(root, split="valid", size=32)
    assert len(valid) == 1 and valid.sample_shape == (3, 32, 32)
    np.testing.assert_array_equal(valid.labels()[0], (labels[2] + 1) // 2)
    assert load_celeba(root, size=None).sample_shape == (3, 218, 178)
    assert len(load_celeba(root, limit=3)) == 3
    other = tmp_path / "anno"
    _write_celeba(other, colours[:2], labels[:2], anno=True)
    assert len(load(other)) == 2


def test_celeba_bad_inputs(celeba, tmp_path):
    root, colours, labels = celeba
    with pytest.raises(ValueError, match="split must be None, 'train', 'valid' or 'test'"):
        load_celeba(root, split="val")
    bad = tmp_path / "bad"
    _write_celeba(bad, colours, labels, bad_line=4)
    with pytest.raises(ValueError, match=r"line 5 has 42 columns but the header names 40 attributes"):
        load_celeba(bad)
    nosplit = tmp_path / "nosplit"
    _write_celeba(nosplit, colours, labels)
    with pytest.raises(FileNotFoundError, match="list_eval_partition"):
        load_celeba(nosplit, split="test")
    (nosplit / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="000002.jpg"):
        load_celeba(nosplit)


# -- npz ------------------------------------------------------------------------------------
def test_npz_layouts_ranges_and_labels(tmp_path):
    rng = np.random.default_rng(2)
    pix = rng.integers(0, 256, size=(5, 6, 6, 3), dtype=np.uint8)
    expected = torch.from_numpy(pix.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1)
    y = np.array([0, 1, 2, 1, 0])
    t = rng.normal(size=5)
    for name, images in {
        "nhwc": pix,
        "nchw": pix.transpose(0, 3, 1, 2),
        "unit": pix.astype(np.float32) / 255,
        "signed": pix.astype(np.float32) / 127.5 - 1,
    }.items():
        np.savez(tmp_path / f"{name}.npz", images=images, label=y, t=t, other=np.zeros(3))
        d = load(tmp_path / f"{name}.npz")
        torch.testing.assert_close(d.data, expected, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(d.attrs["label"], y)
        np.testing.assert_allclose(d.factors["t"], t, rtol=1e-6)
        assert "other" not in d.attrs and "other" not in d.factors
    np.savez(tmp_path / "gray.npz", x=pix[..., 0])
    g = load_npz(tmp_path / "gray.npz", size=3)
    assert g.sample_shape == (1, 3, 3) and g.attrs == {}


def test_npz_bad_inputs(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 4, 4)), b=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"2 arrays .*images_key=.*a \(2, 4, 4\), b \(2, 4, 4\)"):
        load_npz(tmp_path / "two.npz")
    assert load_npz(tmp_path / "two.npz", images_key="b").sample_shape == (1, 4, 4)
    with pytest.raises(ValueError, match="no array 'c'"):
        load_npz(tmp_path / "two.npz", images_key="c")
    np.savez(tmp_path / "range.npz", x=np.full((2, 4, 4), 3.5))
    with pytest.raises(ValueError, match=r"values in \[3.5, 3.5\].*\[0, 1\] or \[-1, 1\]"):
        load_npz(tmp_path / "range.npz")
    np.savez(tmp_path / "flat.npz", x=np.zeros(10))
    with pytest.raises(ValueError, match="no array with 3 or 4 dimensions"):
        load_npz(tmp_path / "flat.npz")


# -- IDX ------------------------------------------------------------------------------------
def _idx_bytes(array, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip_with_sibling_labels(tmp_path, compress):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(7, 5, 6), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    suffix = ".gz" if compress else ""
    write = gzip.compress if compress else (lambda b: b)
    (tmp_path / f"train-images-idx3-ubyte{suffix}").write_bytes(write(_idx_bytes(images)))
    (tmp_path / f"train-labels-idx1-ubyte{suffix}").write_bytes(write(_idx_bytes(labels)))
    d = load(tmp_path / f"train-images-idx3-ubyte{suffix}")
    torch.testing.assert_close(d.data, torch.from_numpy(images[:, None] / 127.5 - 1).float(), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(d.attrs["label"], labels)
    assert load_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", size=10).sample_shape == (1, 10, 10)


def test_idx_explicit_labels_and_other_types(tmp_path):
    values = np.linspace(0, 1, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    (tmp_path / "imgs.idx").write_bytes(_idx_bytes(values, code=0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "imgs.idx"), values)
    (tmp_path / "y.idx").write_bytes(_idx_bytes(np.array([3, 1], dtype=">i4"), code=0x0C))
    d = load_idx(tmp_path / "imgs.idx", labels=tmp_path / "y.idx")
    torch.testing.assert_close(d.data[:, 0], torch.from_numpy(values * 2 - 1), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(d.attrs["label"], [3, 1])


def test_idx_bad_inputs(tmp_path):
    (tmp_path / "junk-idx").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_idx(tmp_path / "junk-idx")
    images = np.zeros((4, 3, 3), dtype=np.uint8)
    (tmp_path / "short-idx").write_bytes(_idx_bytes(images)[:-5])
    with pytest.raises(ValueError, match="holds 31 data bytes .* needs 36"):
        load_idx(tmp_path / "short-idx")
    (tmp_path / "ok-idx").write_bytes(_idx_bytes(images))
    (tmp_path / "lab-idx").write_bytes(_idx_bytes(np.zeros(3, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"shape \(3,\) but .* holds 4 images"):
        load_idx(tmp_path / "ok-idx", labels=tmp_path / "lab-idx")
    with pytest.raises(ValueError, match="label file"):
        load_idx(tmp_path / "lab-idx")


def test_center_crop_resize_keeps_same_size_images_unchanged():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.equal(center_crop_resize(x, 8), x)
    assert center_crop_resize(x, None) is x or torch.equal(center_crop_resize(x, None), x)
    with pytest.raises(ValueError, match="crop=9"):
        center_crop_resize(x, 4, crop=9)


def test_a_celeba_folder_trains_through_dataloader_workers(tmp_path, monkeypatch):
    """Data too big to hold in memory is decoded by DataLoader workers; the run is the same with or without them."""
    import latentlab.training.loop as loop
    from latentlab.checkpoint import load_checkpoint
    from latentlab.training import train

    rng = np.random.default_rng(2)
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(24)]
    _write_celeba(tmp_path / "celeba", colours, rng.choice([-1, 1], size=(24, 40)), partition=[0] * 24)
    monkeypatch.setattr(loop, "RESIDENT_BYTES", 0)  # as if the folder were CelebA's 200,000 images
    config = {"model": {"kind": "vae", "latent_dim": 4, "base_channels": 8},
              "data": {"name": str(tmp_path / "celeba"), "options": {"size": 32}},
              "train": {"steps": 6, "batch_size": 8, "lr": 1e-3, "checkpoint_every": 0}}
    for workers in (0, 2):
        config["train"]["num_workers"] = workers
        train(config, out=tmp_path / f"w{workers}.pt", progress=False)
    a, b = (load_checkpoint(tmp_path / f"w{w}.pt").weights["model"] for w in (0, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)
