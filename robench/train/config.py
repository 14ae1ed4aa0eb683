"""What one ``robench train`` run is asked to do, apart from the recipe (which is the experiment).

Nothing here changes the numbers a run computes except through the recipe: devices, workers,
memory format, compilation, how often to validate and checkpoint, and what to evaluate at the end.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

from robench.train.recipes import PAPER


@dataclass
class TrainConfig:
    model: str  # a timm architecture name, e.g. robust_resnet_dw_small
    root: str  # ROOT/train and ROOT/val: wnid folders or shard sets
    out: str  # RUN_DIR
    recipe: str = PAPER
    overrides: Dict[str, object] = field(default_factory=dict)  # recipe fields (lr_base, epochs, ...)
    batch_size: Optional[int] = None  # per device; global batch = batch_size x world size
    workers: int = 4
    device: str = "auto"
    channels_last: bool = False
    compile: bool = False
    eval_every: int = 1  # validate every N epochs (and after the last); 0: only after the last
    checkpoint_every: int = 1  # write latest.pth every N epochs (and after the last)
    eval_suites: Sequence[str] = ("imagenet",)  # evaluated on the final checkpoint
    eval_roots: Dict[str, str] = field(default_factory=dict)  # suite -> root (imagenet: ROOT's val)
    eval_batch_size: Optional[int] = None
    resume: Optional[str] = None  # a checkpoint; default: RUN_DIR/latest.pth when it exists
    name: Optional[str] = None  # the model's name in result records
    seed: int = 0
    progress: bool = True
