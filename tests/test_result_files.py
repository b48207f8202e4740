"""latentlab's result files (directions, principal directions, maps, codes): one format.

Files written before the format was shared are built here with ``np.savez`` and the keys
that code wrote, and must still load; a file of one kind given where another is
expected, or written by a newer latentlab, is refused with a clear message.
"""

import json

import numpy as np
import pytest

from latentlab import LatentMap
from latentlab._io import NPZ_KINDS, command_inputs
from latentlab.analysis.workflow import DirectionResult, PCAResult, load_direction_file
from latentlab.codes import LatentCodes

RNG = np.random.default_rng(0)


def _unit(v):
    return v / np.linalg.norm(v)


def _old_direction(path):
    """The layout ``DirectionResult.save`` wrote (marker, version 1, one array per field)."""
    primal, cond = _unit(RNG.normal(size=6)), _unit(RNG.normal(size=(1, 6)))
    direction = _unit(primal - (primal @ cond[0]) * cond[0])
    np.savez_compressed(
        path, format=np.asarray("latentlab-direction"), version=np.asarray(1), latentlab_version=np.asarray("0.1.0"),
        attribute=np.asarray("glasses"), conditions=np.asarray(["age"]), direction=direction, primal=primal,
        intercept=np.asarray(0.25), condition_directions=cond, cosines_before=cond @ primal,
        cosines_after=cond @ direction, val_accuracy=np.asarray(0.9), train_accuracy=np.asarray(0.95),
        labels_from=np.asarray("data"), label_source=np.asarray("faces"),
        data_options=np.asarray(json.dumps({"n": 40})), method=np.asarray("svm"), fraction=np.asarray(np.nan),
        n=np.asarray(40), seed=np.asarray(3), model=np.asarray("vae.pt"), latent_shape=np.asarray([6]),
        distances=RNG.normal(size=40), labels=RNG.integers(0, 2, 40))
    return primal, direction


def _old_pca(path):
    components = np.linalg.qr(RNG.normal(size=(6, 3)))[0].T
    np.savez_compressed(
        path, format=np.asarray("latentlab-pca"), version=np.asarray(1), latentlab_version=np.asarray("0.1.0"),
        components=components, explained_variance=np.array([3.0, 2.0, 1.0]),
        explained_variance_ratio=np.array([0.5, 1 / 3, 1 / 6]), mean=np.zeros(6), codes=np.asarray("prior"),
        model=np.asarray("gan.pt"), n=np.asarray(100), seed=np.asarray(0), latent_shape=np.asarray([6]),
        source=np.asarray("100 codes drawn from the prior"))
    return components


def _old_map(path):
    """The layout ``LatentMap.save`` wrote: a marker and no version field."""
    rotation = np.linalg.qr(RNG.normal(size=(4, 4)))[0]
    np.savez(path, format=np.array("latentlab.LatentMap/1"), latentlab_version=np.array("0.1.0"),
             kind=np.array("procrustes"), alpha=np.array(1.0), scaling=np.array(True), coef=2.0 * rotation,
             intercept=np.ones(4), src_shape=np.array([2, 2]), dst_shape=np.array([4]), rotation=rotation,
             scale=np.array(2.0))
    return rotation


def _old_codes(path):
    """The layout ``LatentCodes.save`` wrote: no marker at all."""
    z = RNG.normal(size=(10, 3)).astype(np.float32)
    np.savez_compressed(path, **{"z": z, "attr/glasses": (z[:, 0] > 0).astype(np.int64), "score/glasses": z[:, 0],
                                 "factor/pose": z[:, 1], "levels/glasses": np.asarray(["no", "yes"]),
                                 "info/data": np.asarray("faces")})
    return z


def test_files_written_before_the_shared_format_still_load(tmp_path):
    primal, direction = _old_direction(tmp_path / "d.npz")
    for loaded in (DirectionResult.load(tmp_path / "d.npz"), load_direction_file(tmp_path / "d.npz")):
        assert isinstance(loaded, DirectionResult)
        assert loaded.name == "glasses|age" and loaded.latent_shape == (6,) and loaded.data_options == {"n": 40}
        np.testing.assert_array_equal(loaded.primal, primal)
        np.testing.assert_array_equal(loaded.direction, direction)
        assert abs(loaded.cosines_after[0]) < 1e-12 and loaded.labels.shape == loaded.distances.shape == (40,)

    components = _old_pca(tmp_path / "p.npz")
    pca = load_direction_file(tmp_path / "p.npz")
    assert isinstance(pca, PCAResult) and pca.names == ["pc0", "pc1", "pc2"] and pca.source.startswith("100 codes")
    np.testing.assert_array_equal(PCAResult.load(tmp_path / "p.npz").components, components)

    rotation = _old_map(tmp_path / "m.npz")
    m = LatentMap.load(tmp_path / "m.npz")
    assert m.get_params() == {"kind": "procrustes", "alpha": 1.0, "scaling": True} and m.scale_ == 2.0
    z = RNG.normal(size=(5, 2, 2))
    np.testing.assert_allclose(m.transform(z), 2.0 * z.reshape(5, 4) @ rotation.T + 1.0)
    np.testing.assert_allclose(m.inverse_transform(m.transform(z)), z)

    z = _old_codes(tmp_path / "c.npz")
    codes = LatentCodes.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(codes.z, z)
    assert codes.attribute_names == ["glasses"] and codes.attr_levels == {"glasses": ["no", "yes"]}
    assert set(codes.scores) == {"glasses"} and set(codes.factors) == {"pose"} and codes.info == {"data": "faces"}
    # codes are any .npz with an array 'z', even one whose own arrays are named like latentlab's markers
    np.savez(tmp_path / "own.npz", z=z, format=np.asarray("mine"), version=np.asarray(7))
    np.testing.assert_array_equal(LatentCodes.load(tmp_path / "own.npz").z, z)


def _results(tmp_path):
    """One file of each kind written by the current code, by kind."""
    z = RNG.normal(size=(12, 4))
    paths = {kind: tmp_path / f"{kind}.npz" for kind in NPZ_KINDS}
    DirectionResult(attribute="glasses", direction=_unit(np.ones(4)), primal=_unit(np.ones(4)),
                    intercept=0.0, data_options={"n": 12}).save(paths["direction"])
    PCAResult(components=np.eye(2, 4), explained_variance=np.ones(2), explained_variance_ratio=np.full(2, 0.5),
              mean=np.zeros(4)).save(paths["pca"])
    LatentMap(kind="procrustes", scaling=True).fit(z, 3.0 * z[:, ::-1]).save(paths["map"])
    LatentCodes(z=z, attrs={"glasses": (z[:, 0] > 0).astype(np.int64)}, info={"seed": 1}).save(paths["codes"])
    return paths


LOADERS = {"direction": DirectionResult.load, "pca": PCAResult.load, "map": LatentMap.load,
           "codes": LatentCodes.load}


def test_each_kind_round_trips_and_refuses_the_others(tmp_path):
    paths = _results(tmp_path)
    assert LOADERS["direction"](paths["direction"]).data_options == {"n": 12}
    assert LOADERS["pca"](paths["pca"]).latent_shape == (4,)
    m = LOADERS["map"](paths["map"])
    z = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(m.transform(z), 3.0 * z[:, ::-1], atol=1e-9)
    assert LOADERS["codes"](paths["codes"]).info == {"seed": "1"}
    for expected, load in LOADERS.items():
        for held, path in paths.items():
            if held == expected:
                continue
            with pytest.raises(ValueError) as info:
                load(path)
            message = str(info.value)
            assert str(path) in message and message.count("\n") == 0
            assert f"is not a {NPZ_KINDS[expected].noun}" in message
            assert f"it holds {NPZ_KINDS[held].holds} (from `{NPZ_KINDS[held].command}`)" in message
    for held in ("map", "codes"):
        with pytest.raises(ValueError, match=f"not a direction file.*it holds {NPZ_KINDS[held].holds}"):
            load_direction_file(paths[held])


def test_a_newer_file_version_is_refused(tmp_path):
    for kind, path in _results(tmp_path).items():
        arrays = dict(np.load(path))
        arrays["version"] = np.asarray(NPZ_KINDS[kind].version + 1)
        np.savez(path, **arrays)
        with pytest.raises(ValueError, match="written by a newer latentlab.*upgrade latentlab"):
            LOADERS[kind](path)


def test_result_files_hold_no_pickles_and_keep_the_output_guarantees(tmp_path):
    paths = _results(tmp_path)
    for path in paths.values():
        with np.load(path, allow_pickle=False) as archive:  # every array reads without unpickling
            assert {"format", "version", "latentlab_version"} <= set(archive.files)
    arrays = dict(np.load(paths["direction"]))
    arrays["attribute"] = np.array([{"not": "an array"}], dtype=object)
    np.savez(paths["direction"], **arrays)
    with pytest.raises(ValueError, match="holds Python objects"):
        DirectionResult.load(paths["direction"])

    codes = LatentCodes.load(paths["codes"])
    before = paths["codes"].read_bytes()
    with pytest.raises(FileExistsError):
        codes.save(paths["codes"])
    with command_inputs(paths["codes"]), pytest.raises(ValueError, match="is an input"):
        codes.save(paths["codes"], overwrite=True)
    assert paths["codes"].read_bytes() == before
    codes.save(paths["codes"], overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())  # no temporary left
