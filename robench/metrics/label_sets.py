"""Label sets: scoring where an image's correct answer is any of a set of ImageNet classes.

A class-subset suite (ImageNet-R/A) restricts the logits to 200 columns and each image has one right
class among them. ObjectNet's classes are coarser than ImageNet's: its "chair" is ImageNet's barber
chair, folding chair, rocking chair or throne. Each of its classes maps to a *set* of ImageNet classes
(the dataset's own mapping files), the logits are restricted to the union of the sets, and a
prediction is right when it falls in the image's set (modestyachts/imagenet-testbed,
``src/eval_settings/objectnet.py``: ``objectnet_accuracy`` over the ``class_sublist``).

``LabelSets`` is that table: named sets of 1k indices. Each set has a *representative* label, its
smallest 1k index that is in no other set, and that is the label a sample of the set carries through
the engine (a 1k index like every label), so the set of a sample is known from its label alone: in
every batch, rank, task and resumed run alike. ``robench.engine.scoring.Scorer`` turns a batch's labels
into the masks of allowed classes that the metrics read (``Scores.target_sets``): ``accuracy`` counts a
top-1 / top-5 hit when a predicted class is in the set, ``top1_all_classes`` when the 1000-way argmax is.
With no sets, every image allows its own label only, and these metrics are what they always were.
"""
import hashlib
import json

import torch

from robench.errors import RobenchError


class LabelSets:
    """Named sets of 1k class indices (``{name: [1k indices]}``, at least two sets, none empty)."""

    def __init__(self, sets, where="label sets"):
        if len(sets) < 2:
            raise RobenchError(f"{where}: {len(sets)} class set(s); scoring over sets needs at least two")
        self.names = sorted(sets)
        self.sets = {name: tuple(sorted({int(i) for i in sets[name]})) for name in self.names}
        for name, members in self.sets.items():
            if not members or not all(0 <= i < 1000 for i in members):
                raise RobenchError(f"{where}: set {name!r} has no classes or a class outside 0..999: {members}")
        owners = {}
        for name, members in self.sets.items():
            for i in members:
                owners.setdefault(i, []).append(name)
        self.representative = {}
        for name, members in self.sets.items():
            own = [i for i in members if len(owners[i]) == 1]
            if not own:
                raise RobenchError(f"{where}: every class of set {name!r} is also in another set; robench labels "
                                   "each set by a class of its own")
            self.representative[name] = own[0]
        self.union = sorted(owners)  # the scored columns, in 1k order
        self._by_label = {label: name for name, label in self.representative.items()}
        mask = torch.zeros(1000, 1000, dtype=torch.bool)  # row: a representative label; columns: its set
        for name, label in self.representative.items():
            mask[label, list(self.sets[name])] = True
        self._mask_1k = mask

    def label_of(self, name):
        """The 1k label samples of set ``name`` carry."""
        return self.representative[name]

    def set_of(self, label):
        """The name of the set whose representative ``label`` is (KeyError for another label)."""
        return self._by_label[int(label)]

    def is_label(self, labels):
        """Bool per label: it is a set's representative."""
        return self._mask_1k[labels].any(dim=1)

    def allowed_1k(self, labels):
        """(N x 1000) bool: the classes each label's set allows."""
        return self._mask_1k[labels]

    def to_json(self):
        return {name: list(members) for name, members in self.sets.items()}

    def digest(self):
        """A hash of the sets: part of a data fingerprint (other mapping files, other numbers)."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:16]

    def __len__(self):
        return len(self.names)

    def __eq__(self, other):
        return isinstance(other, LabelSets) and self.sets == other.sets

    def __hash__(self):
        return hash(self.digest())
