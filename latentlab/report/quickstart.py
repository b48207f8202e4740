"""The quickstart: everything latentlab does, on the built-in faces, in a few CPU minutes.

:func:`run_quickstart` trains small VAE, GAN and DDPM generators and an attribute
classifier, estimates intrinsic dimension, finds the glasses, smile and age directions in
the GAN, removes age from glasses (entanglement before/after), edits faces, maps the GAN's
latent space into the VAE's, and writes an HTML report with every figure (PNG and PDF,
each with its data) and table. The checkpoints ``vae.pt``, ``gan.pt``, ``ddpm.pt`` and
``classifier.pt`` are left in ``models_dir`` so the CLI's own examples
(``latentlab direction --attr glasses``, ``latentlab map --src gan.pt --dst vae.pt``) work
there right away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import latentlab
from latentlab._device import resolve_device
from latentlab._io import check_can_write
from latentlab.analysis.editing import traversal_images
from latentlab.analysis.intrinsic_dim import id_table, suggest_latent_size
from latentlab.analysis.map_evaluation import evaluate_maps, map_samples
from latentlab.analysis.support import support_set
from latentlab.analysis.workflow import evaluate_directions, find_direction
from latentlab.codes import encode_dataset
from latentlab.data import load
from latentlab.plots import image_grid
from latentlab.plots.directions import cosine_heatmap, entanglement_figure, traversal_figure
from latentlab.plots.intrinsic_dim import id_comparison_figure
from latentlab.plots.maps import map_table_figure, mapped_samples_figure
from latentlab.plots.style import ONE_COLUMN
from latentlab.plots.training import read_metrics_log, training_curves_figure
from latentlab.report.html import HTMLReport, format_number
from latentlab.training import train

__all__ = ["QuickstartSettings", "QuickstartResult", "run_quickstart", "MODEL_FILES"]

# checkpoint files the quickstart leaves in models_dir, by role
MODEL_FILES = {"vae": "vae.pt", "gan": "gan.pt", "ddpm": "ddpm.pt", "classifier": "classifier.pt"}
ATTRIBUTES = ("glasses", "smile", "age")


@dataclass(frozen=True)
class QuickstartSettings:
    """How much work each stage does. The defaults fit in about three minutes on 2 CPU cores (2 min 49 s measured).

    Steps are optimizer updates; ``n_*`` are numbers of samples or codes.
    """

    vae_steps: int = 700
    gan_steps: int = 900
    ddpm_steps: int = 1000
    classifier_steps: int = 300
    n_train: int = 8000  # faces the generators and the classifier train on
    nuisance: float = 0.0  # faces' position/scale/tilt/background variation: 0 = centred (learnt in CPU minutes)
    n_id: int = 1500  # points per intrinsic-dimension estimate
    n_id_ddpm: int = 128  # DDPM samples cost a full DDIM run each
    n_direction: int = 2000  # GAN codes labelled by the classifier per direction
    n_edit: int = 256  # codes edited to measure entanglement
    n_support: int = 1500  # support pairs of the GAN -> VAE map
    n_test: int = 200  # held-out pairs scoring it
    ddpm: bool = True
    ddpm_decode_steps: int | None = None  # DDIM steps of the DDPM's samples (None: its config's)
    workers: int | None = None  # training processes; None: 2 on a CPU with 2+ cores, else 1
    direction_model: str = "gan"  # whose latent space the directions are found in: "gan" or "vae"
    labels_from: str = "classifier"  # "classifier" (labels of samples) or "data" (encoded labelled faces; VAE only)
    seed: int = 0

    def __post_init__(self):
        if self.direction_model not in ("gan", "vae"):
            raise ValueError(f"direction_model must be 'gan' or 'vae', not {self.direction_model!r}")
        if self.labels_from not in ("classifier", "data"):
            raise ValueError(f"labels_from must be 'classifier' or 'data', not {self.labels_from!r}")
        if self.labels_from == "data" and self.direction_model == "gan":
            raise ValueError("labels_from='data' needs direction_model='vae' (a GAN encodes only by slow inversion)")

    @classmethod
    def tiny(cls, **changes) -> "QuickstartSettings":
        """Seconds instead of minutes (tests): the same pipeline, meaningless models.

        Directions come from the VAE with the data's labels, because a classifier trained
        for a few steps may call no sample of a barely trained GAN "glasses".
        """
        base = dict(vae_steps=4, gan_steps=4, ddpm_steps=2, classifier_steps=4, n_train=256, n_id=120,
                    n_id_ddpm=24, n_direction=200, n_edit=32, n_support=80, n_test=20, ddpm_decode_steps=2, direction_model="vae",
                    labels_from="data")
        return cls(**{**base, **changes})


@dataclass
class QuickstartResult:
    """What :func:`run_quickstart` made."""

    report: Path  # the HTML page
    models: dict  # role -> checkpoint path
    figures: list = field(default_factory=list)  # every figure and data file written
    timings: dict = field(default_factory=dict)  # stage -> seconds
    numbers: dict = field(default_factory=dict)  # headline numbers (IDs, accuracies, map errors)


def _samples(gen, n: int, seed: int, batch: int = 256) -> torch.Tensor:
    out = []
    for i in range(0, n, batch):
        out.append(gen.sample(min(batch, n - i), generator=torch.Generator().manual_seed(seed + i)).cpu())
    return torch.cat(out)


def _training_jobs(settings: QuickstartSettings, folder: Path) -> dict:
    """What to train, longest first (so two workers finish close together)."""
    def overrides(steps, extra=()):
        return [f"train.steps={steps}", f"data.options.n={settings.n_train}", f"data.options.nuisance={settings.nuisance}",
                f"train.checkpoint_every={steps}", *extra]

    jobs = {}
    if settings.ddpm:
        extra = [f"model.decode_steps={settings.ddpm_decode_steps}"] if settings.ddpm_decode_steps else []
        jobs["ddpm"] = {"config": "faces-ddpm-tiny", "steps": settings.ddpm_steps,
                        "overrides": overrides(settings.ddpm_steps, extra)}
    jobs["gan"] = {"config": "faces-gan-tiny", "steps": settings.gan_steps, "overrides": overrides(settings.gan_steps)}
    jobs["vae"] = {"config": "faces-vae-tiny", "steps": settings.vae_steps, "overrides": overrides(settings.vae_steps)}
    jobs["classifier"] = {"config": None, "steps": settings.classifier_steps, "n": settings.n_train, "seed": settings.seed,
                          "data_options": {"size": 32, "nuisance": settings.nuisance}}
    for role, job in jobs.items():
        job["out"] = str(folder / f"{role}.pt")
    return jobs


def _default_workers(device) -> int:

    if resolve_device(device).type != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if cores >= 2 else 1


def _train_job(job: dict, device, progress: bool, threads: int | None) -> dict:
    """Train one model (in a worker process or in this one); returns the classifier's accuracy or {}."""
    if threads:
        # small convolutions: one thread per process beats two threads sharing one model
        torch.set_num_threads(threads)
    if job["config"] is None:
        from latentlab.training import train_classifier

        _, accuracy = train_classifier("faces", out=job["out"], n=job["n"], steps=job["steps"], seed=job["seed"],
                                       data_options=job["data_options"], device=device, force=True, progress=progress)
        return dict(accuracy)

    train(job["config"], out=job["out"], overrides=job["overrides"], force=True, device=device, progress=progress)
    return {}


def _logged_step(path: Path) -> int:
    """The last step a run's metrics log holds (0 before its first line)."""

    try:
        return int(read_metrics_log(path)["step"][-1])
    except (FileNotFoundError, ValueError):  # not written yet, or a line still being written
        return 0


def _run_training(jobs: dict, *, workers: int, device, progress: bool) -> dict:
    """Train every job; with ``workers > 1`` in that many processes, one bar over all steps."""
    accuracy = {}
    if workers <= 1:
        for job in jobs.values():
            accuracy.update(_train_job(job, device, progress, None))
        return accuracy
    import concurrent.futures
    import multiprocessing

    from tqdm.auto import tqdm

    logs = {role: Path(job["out"]).with_name(f"{role}.metrics.jsonl") for role, job in jobs.items()}
    for log_file in logs.values():
        log_file.unlink(missing_ok=True)  # the bar reads progress from these logs
    total = sum(job["steps"] for job in jobs.values())
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool, \
            tqdm(total=total, desc="training", unit="step", disable=not progress) as bar:
        futures = {pool.submit(_train_job, job, device, False, 1): role for role, job in jobs.items()}
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(pending, timeout=0.5)
            for future in done:
                accuracy.update(future.result())  # re-raises a worker's error here
            bar.n = sum(jobs[r]["steps"] if f.done() else _logged_step(logs[r]) for f, r in futures.items())
            bar.refresh()
    return accuracy


def run_quickstart(
    out: str | os.PathLike = "report",
    *,
    models_dir: str | os.PathLike = ".",
    settings: QuickstartSettings | None = None,
    device: str | None = "auto",
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> QuickstartResult:
    """Run the whole quickstart and write its report.

    Parameters
    ----------
    out : path
        Report folder: ``index.html``, ``figures/`` (PNG + PDF + data of each figure),
        ``training/`` (logs and sample grids of each run), ``directions/`` (direction files)
        and ``gan2vae.npz`` (the fitted map).
    models_dir : path
        Where ``vae.pt``, ``gan.pt``, ``ddpm.pt`` and ``classifier.pt`` are left.
    settings : QuickstartSettings, optional
        Sizes of each stage (default: the three-minute CPU setting).
    device : ``"auto"``, ``"cpu"``, ``"cuda"``, ...
    force : bool
        Replace existing checkpoints and report files; without it nothing is overwritten
        (the check happens before any work).
    progress : bool
        Progress bars for training and long loops.
    log : callable
        Receives one line per stage.

    Notes
    -----
    On a CPU the models train in worker processes started with ``spawn``; a script that
    calls this function must do so under ``if __name__ == "__main__":`` (as for any
    ``multiprocessing`` code), or set ``settings.workers = 1``.
    """

    settings = settings or QuickstartSettings()
    out, models_dir = Path(out), Path(models_dir)
    roles = [r for r in MODEL_FILES if settings.ddpm or r != "ddpm"]
    models = {role: models_dir / MODEL_FILES[role] for role in roles}
    for path in [*models.values(), out / "index.html", out / "gan2vae.npz"]:
        check_can_write(path, force, keyword="force")
    models_dir.mkdir(parents=True, exist_ok=True)
    (out / "training").mkdir(parents=True, exist_ok=True)
    (out / "directions").mkdir(exist_ok=True)

    report = HTMLReport(out, "latentlab quickstart: the latent spaces of cartoon faces", overwrite=force)
    tour = _Tour(settings=settings, out=out, models_dir=models_dir, models=models, device=device, force=force,
                 progress=progress, log=log, report=report,
                 result=QuickstartResult(report=report.page, models=dict(models)))
    total0 = time.perf_counter()
    for stage in _STAGES:
        stage(tour)
    _write_report(tour, total0)
    tour.result.figures = list(report.files)
    tour.result.timings["total"] = time.perf_counter() - total0
    return tour.result


@dataclass
class _Tour:
    """What the stages of :func:`run_quickstart` share: where things go and what was made so far."""

    settings: QuickstartSettings
    out: Path
    models_dir: Path
    models: dict  # role -> checkpoint path
    device: object
    force: bool
    progress: bool
    log: Callable[[str], None]
    report: object  # the HTMLReport being written
    result: QuickstartResult
    stages_done: int = 0
    faces: object = None  # the training faces (Dataset)
    gens: dict = field(default_factory=dict)  # "VAE"/"GAN"/"DDPM" -> Generator
    classifier: object = None
    drawn: dict = field(default_factory=dict)  # generator name -> its samples
    found: dict = field(default_factory=dict)  # attribute -> DirectionResult

    @property
    def seed(self) -> int:
        return self.settings.seed

    @contextlib.contextmanager
    def stage(self, name: str):
        """Announce a stage as ``[i/n] name``, time it, and say how long it took."""
        self.stages_done += 1
        self.log(f"[{self.stages_done}/{STAGES}] {name}")
        t0 = time.perf_counter()
        yield
        self.result.timings[name] = time.perf_counter() - t0
        self.log(f"      done in {self.result.timings[name]:.1f} s")


def _data_stage(tour: _Tour) -> None:

    settings, report = tour.settings, tour.report
    with tour.stage("the data: procedural faces with known attributes"):
        faces = tour.faces = load("faces", n=settings.n_train, size=32, seed=tour.seed, nuisance=settings.nuisance)
        preview = faces.subset(np.arange(18))
        labels = [", ".join(a for a in ATTRIBUTES if preview.attrs[a][i]) or "-" for i in range(len(preview))]
        report.section("Data")
        report.text(f"{len(faces)} procedural 32 px faces (`latentlab.data.load('faces')`) with binary attributes "
                    f"{', '.join(faces.attribute_names)}. Glasses and age are correlated (phi = 0.5 by default), as in "
                    "photographs: an edit of glasses found naively also ages a face.")
        report.add_figure(image_grid(preview.images, nrow=6, labels=labels, title="faces and their glasses/smile/age labels"),
                          "data", "Training faces with their labels.")
        rates = [[a, float(faces.attrs[a].mean())] for a in faces.attribute_names if set(np.unique(faces.attrs[a])) <= {0, 1}]
        report.table(["attribute", "share of faces"], rates)


def _training_stage(tour: _Tour) -> None:

    settings, models, device = tour.settings, tour.models, tour.device
    train_dir = tour.out / "training"
    jobs = _training_jobs(settings, train_dir)
    workers = settings.workers if settings.workers is not None else _default_workers(device)
    names = ", ".join(f"{role} ({job['steps']} steps)" for role, job in jobs.items())
    with tour.stage(f"training {names}" + (f" in {workers} processes" if workers > 1 else "")):
        accuracy = _run_training(jobs, workers=workers, device=device, progress=tour.progress)
    for role in jobs:
        shutil.copyfile(train_dir / f"{role}.pt", models[role])  # the run's logs stay in the report
    tour.gens = {"VAE": latentlab.load(models["vae"], device=device), "GAN": latentlab.load(models["gan"], device=device)}
    if settings.ddpm:
        tour.gens["DDPM"] = latentlab.load(models["ddpm"], device=device)
    tour.classifier = latentlab.load(models["classifier"], device=device)
    tour.result.numbers["classifier_accuracy"] = dict(accuracy)


def _samples_stage(tour: _Tour) -> None:

    settings, report, seed = tour.settings, tour.report, tour.seed
    report.section("Generators")
    report.text("Three generators trained by the one training loop (`latentlab train faces-vae-tiny`, "
                "`faces-gan-tiny`, `faces-ddpm-tiny`), sized for a CPU: a VAE (16-d codes), a DCGAN with spectral "
                "norm (32-d codes) and a DDPM whose latent code is its DDIM starting noise. Train longer (or on a GPU) "
                "for sharper faces.")
    # each model's samples, drawn once: the first 32 shown, all used for the ID
    with tour.stage("drawing samples from each model"):
        for name, gen in tour.gens.items():
            tour.drawn[name] = _samples(gen, max(32, settings.n_id_ddpm if name == "DDPM" else settings.n_id), seed)
    for name in tour.gens:
        report.add_figure(image_grid(tour.drawn[name][:32], nrow=8, title=f"{name} samples", width=ONE_COLUMN),
                          f"samples-{name.lower()}", f"{name} samples (seed {seed}).", row=True)
    logs = {n: tour.out / "training" / f"{n.lower()}.metrics.jsonl" for n in tour.gens}
    report.add_figure(training_curves_figure(logs), "training-curves", "Training losses against step.")


def _intrinsic_dim_stage(tour: _Tour) -> None:

    settings, report = tour.settings, tour.report
    with tour.stage("intrinsic dimension of the data, the VAE's codes and each model's samples"):
        held = load("faces", n=settings.n_id, size=32, seed=tour.seed + 1, nuisance=settings.nuisance)
        clouds = {"faces (pixels)": held.images, "VAE codes of faces": encode_dataset(tour.gens["VAE"], held).z}
        for name in tour.gens:
            clouds[f"{name} samples"] = tour.drawn[name]
        rows = id_table(clouds, ("twonn", "mle"), n_boot=20, seed=tour.seed)
    data_row = rows[0]
    tour.result.numbers["id"] = {f"{r.what} / {r.method}": r.dimension for r in rows}
    report.section("Intrinsic dimension")
    report.text("How many numbers does it take to describe a face? TwoNN and MLE (k = 20) estimates with 95% bootstrap "
                "intervals, for the faces' pixels, the VAE's codes of them and each model's samples (a model whose "
                "samples have a much higher ID than the data adds noise; a much lower one drops variation). Latent size "
                f"advice from the data's ID: {suggest_latent_size(data_row.dimension, data_row.ci)} "
                "(`latentlab intrinsic-dim --data faces`).")
    report.add_figure(id_comparison_figure(rows), "intrinsic-dimension", "Intrinsic dimension of each point cloud.")
    report.table(["point cloud", "method", "ID", "95% interval", "N", "ambient dim"],
                 [[r.what, r.method, r.dimension,
                   f"[{format_number(r.ci[0], 1)}, {format_number(r.ci[1], 1)}]" if r.ci else "-", r.n, r.ambient]
                  for r in rows], decimals=[None, None, 2, None, None, None])


def _directions_stage(tour: _Tour) -> None:

    settings, report, result = tour.settings, tour.report, tour.result
    where = settings.direction_model.upper()
    edited = tour.gens[where]
    with tour.stage(f"attribute directions in the {where}: glasses, smile, age; glasses made orthogonal to age"):
        found = tour.found
        for attr in ATTRIBUTES:
            found[attr] = find_direction(edited, attr, conditions=("age",) if attr == "glasses" else (),
                                         classifier=tour.classifier, labels_from=settings.labels_from, data=tour.faces,
                                         n=min(settings.n_direction, len(tour.faces)), seed=tour.seed)
            found[attr].save(tour.out / "directions" / f"{attr}.npz", overwrite=tour.force)
        before, after = evaluate_directions(edited, tour.classifier, list(found.values()), n=settings.n_edit,
                                            seed=tour.seed)
    glasses = found["glasses"]
    result.numbers["directions"] = {a: r.val_accuracy for a, r in found.items()}
    result.numbers["glasses_age_cosine"] = (float(glasses.cosines_before[0]), float(glasses.cosines_after[0]))
    age_row = before.attributes.index("age")
    result.numbers["age_change_per_glasses_step"] = (float(before.matrix[age_row, before.directions.index("glasses")]),
                                                     float(after.matrix[age_row, 0]))
    report.section("Attribute directions")
    if settings.labels_from == "classifier":
        labelled = (f"{where} codes whose faces the classifier calls glasses / no glasses (the extremes of its score "
                    f"over {settings.n_direction} samples)")
    else:
        labelled = f"the {where} codes of {settings.n_direction} labelled training faces, with and without glasses"
    report.text(f"A linear SVM separates {labelled}; its unit normal is the glasses direction "
                "(`latentlab direction --attr glasses`). The same for smile and age.")
    report.table(["direction", "validation accuracy", "cosine with age before", "after orthogonalization"],
                 [[r.name, r.val_accuracy, *(list(r.cosines_before[:1]) + list(r.cosines_after[:1]) or ["", ""])]
                  for r in found.values()])
    names = [*ATTRIBUTES, glasses.name]
    report.add_figure(cosine_heatmap([found[a].primal for a in ATTRIBUTES] + [glasses.direction], names),
                      "direction-cosines", "Cosines between directions: glasses and age share a component; "
                      "glasses|age has none.", row=True)
    report.add_figure(entanglement_figure(before, after), "entanglement",
                      "Entanglement: change of each attribute's probability per unit step along each direction, "
                      f"as fitted and after removing age ({settings.n_edit} edited codes, classifier-scored).", row=True)
    change = [format_number(v, sign=True) for v in result.numbers["age_change_per_glasses_step"]]
    report.text(f"Moving along glasses as fitted changes P(age) by {change[0]} "
                f"per unit step; along glasses|age by {change[1]} "
                "(`latentlab direction --attr glasses --condition age`, `latentlab evaluate-edit`).")


def _edits_stage(tour: _Tour) -> None:

    report, found = tour.report, tour.found
    where = tour.settings.direction_model.upper()
    edited, glasses = tour.gens[where], found["glasses"]
    with tour.stage("editing faces along the directions"):
        steps = np.linspace(-3, 3, 7)
        z = edited.sample_latents(6, generator=torch.Generator().manual_seed(tour.seed + 11))
        report.section("Edits")
        report.text(f"The same six {where} codes moved along each direction, from -3 to +3 latent units "
                    "(`latentlab edit --direction glasses.npz`).")
        for name, vec in [("glasses", glasses.primal), (glasses.name, glasses.direction), ("smile", found["smile"].primal),
                          ("age", found["age"].primal)]:
            fig = traversal_figure(traversal_images(edited, z, vec, steps=steps), steps, title=f"{where}: {name}",
                                   width=ONE_COLUMN)
            report.add_figure(fig, "edit-" + name.replace("|", "-without-"), f"Traversal along {name}.", row=True)


def _map_stage(tour: _Tour) -> None:

    settings, report, seed = tour.settings, tour.report, tour.seed
    gan, vae = tour.gens["GAN"], tour.gens["VAE"]
    with tour.stage(f"a linear map from the GAN's latent space to the VAE's ({settings.n_support} support pairs)"):
        pairs = support_set(gan, vae, source="generated", n=settings.n_support + settings.n_test, seed=seed,
                            progress=tour.progress)
        fit, test = pairs.split(settings.n_test, seed=seed)
        maps = {kind: fit.fit(kind) for kind in ("affine", "ridge")}
        evaluation = evaluate_maps(maps, test, vae, support=fit, random_state=seed)
        maps["affine"].save(tour.out / "gan2vae.npz", overwrite=tour.force)
        shown = map_samples(maps["affine"], gan, vae, n=16, seed=seed + 3)
    scores = evaluation.scores
    tour.result.numbers["map"] = {name: s.to_dict() for name, s in scores.items()} | {"R_mse": evaluation.recon_mse}
    report.section("Maps between latent spaces")
    report.text(f"GAN samples located in the VAE (its encoder) give {len(fit)} support pairs; an affine map fitted on them "
                f"is scored on {len(test)} held-out samples (`latentlab map --src gan.pt --dst vae.pt`). R: the VAE's own "
                "reconstruction error; L: latent error of mapped against encoded codes; M: image error of GAN code -> map "
                "-> VAE decoder; against a random orthogonal map and the mean VAE code.")
    report.table(["map", "L mse/dim", "L rel", "M mse", "M ssim"],
                 [["R: VAE reconstruction", "", "", evaluation.recon_mse, evaluation.recon_ssim]]
                 + [[name + (" (baseline)" if name in evaluation.baselines else ""), s.latent_mse, s.latent_rel,
                     s.image_mse, s.image_ssim] for name, s in scores.items()], decimals=[None, 4, 3, 4, 3])
    report.add_figure(mapped_samples_figure(shown.source, shown.mapped, labels=("GAN sample", "VAE through map"),
                                            title="GAN samples and their images through the map in the VAE"),
                      "gan-to-vae", "Top: GAN samples. Bottom: the VAE's decoding of their mapped codes.")
    report.add_figure(map_table_figure(evaluation), "map-errors", "The error table as a figure.")


def _write_report(tour: _Tour, total0: float) -> None:
    report = tour.report
    with tour.stage("writing the report"):
        report.section("Next steps")
        models_dir = tour.models_dir
        where = "" if models_dir.resolve() == Path.cwd().resolve() else f"cd {models_dir}  # where the models are\n"
        report.text("The checkpoints are in place for the command line; in that folder:")
        report.code(where + "latentlab direction --attr glasses            # finds the glasses direction in gan.pt\n"
                    "latentlab edit --direction glasses.npz --out glasses-edit.png\n"
                    "latentlab map --src gan.pt --dst vae.pt       # the GAN -> VAE map and its error table\n"
                    "latentlab intrinsic-dim --model vae.pt\n"
                    "latentlab sample ddpm.pt --sampler ddim --steps 50 --out ddpm-samples.png")
        total = time.perf_counter() - total0
        report.section("Run")
        report.table(["stage", "seconds"], [[k, v] for k, v in tour.result.timings.items()] + [["total", total]],
                     decimals=1)
        report.text(f"Settings: {dataclasses.asdict(tour.settings)}; device {tour.device}.")
        report.write()


# the stages in order; the report is written last (:func:`_write_report`)
_STAGES = (_data_stage, _training_stage, _samples_stage, _intrinsic_dim_stage, _directions_stage, _edits_stage,
           _map_stage)
STAGES = len(_STAGES) + 1
