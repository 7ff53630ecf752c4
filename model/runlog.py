"""What a training run leaves to read: ``log.jsonl`` (one JSON record per
step, and one per evaluation), a tqdm progress bar on stderr, and the loss
plot ``loss.png``. Only rank 0 writes."""
from __future__ import annotations

import json
import sys
from pathlib import Path


class RunLog:
    """Per-run log. ``fresh``: start a new ``log.jsonl`` (a resumed run
    appends: the last record of a step wins)."""

    def __init__(self, out: Path, *, rank: int, fresh: bool, progress: bool, name: str, desc: str,
                 total: int, initial: int, log_interval: int):
        self.path, self.png = out / "log.jsonl", out / "loss.png"
        self.active, self.name, self.log_interval, self.total = rank == 0, name, log_interval, total
        if self.active and fresh and self.path.exists():
            self.path.unlink()
        self.bar = None
        if self.active and progress:
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=initial, desc=desc, file=sys.stderr, mininterval=2.0,
                            dynamic_ncols=True)

    def write(self, rec: dict) -> None:
        if self.active:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(rec, sort_keys=True) + "\n")

    def step(self, rec: dict) -> None:
        """A training step's record; the bar shows loss, lr and tokens/s every ``log_interval`` steps."""
        self.write(rec)
        if self.bar is not None:
            self.bar.update(1)
            if rec["step"] % self.log_interval == 0 or rec["step"] == self.total:
                self.bar.set_postfix(loss=f"{rec['loss']:.3f}", lr=f"{rec['lr']:.2e}",
                                     tok_s=f"{rec['tokens_per_s']:.0f}", refresh=False)

    def eval(self, step: int, eval_loss: float, tokens: int, train_loss: float) -> None:
        self.write({"step": step, "eval_loss": round(eval_loss, 6), "tokens": tokens})
        if self.bar is not None:
            self.bar.write(f"[{self.name}] step {step}: train loss {train_loss:.4f}, eval loss {eval_loss:.4f}")

    def close(self, title: str) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.active and self.path.exists():
            plot_loss(self.path, self.png, title)


def plot_loss(log_path: Path, png: Path, title: str) -> None:
    """Training and eval loss against tokens seen, PNG (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, evals = {}, {}
    for line in log_path.read_text().splitlines():
        r = json.loads(line)
        (evals if "eval_loss" in r else train)[r["step"]] = r
    fig, ax = plt.subplots(figsize=(7, 4))
    ts = sorted(train)
    ax.plot([train[s]["tokens"] / 1e6 for s in ts], [train[s]["loss"] for s in ts], lw=1, label="train")
    if evals:
        es = sorted(evals)
        ax.plot([evals[s]["tokens"] / 1e6 for s in es], [evals[s]["eval_loss"] for s in es], "o-", label="eval (held out)")
    ax.set_xlabel("tokens (M)")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
