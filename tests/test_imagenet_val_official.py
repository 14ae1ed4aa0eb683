"""ImageNet val in its official forms, read in place: the flat ILSVRC2012_val_*.JPEG files (a folder, or
image-net.org's ILSVRC2012_img_val.tar itself), labelled by the ILSVRC2012 devkit (folder or
ILSVRC2012_devkit_t12.tar.gz as downloaded) or by Kaggle's LOC_val_solution.csv (the ImageNet Object
Localization Challenge download, ILSVRC/Data/CLS-LOC/val/). Each form must give the record of the
wnid-folder form of the same images, and a label file that does not fit the images is one line.

Stand-ins (tests/download_forms.py): 12 colour-coded images of 6 classes in shuffled class order, 3 of
them showing another class's colour, so the colour oracle's top-1 is exactly 75% when the labels are
right; the devkit's IDs are a permutation of the 1000 classes (not the sorted-wnid order), so a reader
that took the ID order for the class index would score near 0."""
import os
import shutil

import pytest

from download_forms import (cli, devkit_ids, evaluate, one_line_error, tar_of, val_plan, values, write_devkit,
                            write_kaggle_csv, write_val)
from robench.datasets import get_suite
from robench.labels import imagenet_wnids, subset_indices

R_CLASSES = list(subset_indices("imagenet_r"))[:3]
LABELS = R_CLASSES + [0, 500, 999]
PLAN = val_plan(LABELS, per_class=2)  # 12 images, 3 wrong on purpose


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    """Each download form under its own root; ``folders`` is the wnid-folder form of the same bytes."""
    base = tmp_path_factory.mktemp("val")
    flat = str(base / "flat")
    names = write_val(flat, str(base / "folders" / "val"), PLAN)
    write_devkit(flat, PLAN)  # flat/ILSVRC2012_devkit_t12/ beside the images
    forms = {"folders": str(base / "folders"), "flat+devkit": flat}
    # image-net.org's download: ILSVRC2012_img_val.tar (flat) + ILSVRC2012_devkit_t12.tar.gz, neither extracted
    tar_of(base / "tar" / "ILSVRC2012_img_val.tar", flat, *names)
    tar_of(base / "tar" / "ILSVRC2012_devkit_t12.tar.gz", flat, "ILSVRC2012_devkit_t12", gzip=True)
    forms["tar+devkit.tar.gz"] = str(base / "tar")
    # the flat folder with the devkit tarball beside it
    shutil.copytree(flat, base / "flat-tgz", ignore=shutil.ignore_patterns("ILSVRC2012_devkit_t12"))
    shutil.copy(base / "tar" / "ILSVRC2012_devkit_t12.tar.gz", base / "flat-tgz")
    forms["flat+devkit.tar.gz"] = str(base / "flat-tgz")
    # Kaggle: <root>/ILSVRC/Data/CLS-LOC/val/*.JPEG and <root>/LOC_val_solution.csv
    kaggle = base / "kaggle"
    shutil.copytree(flat, kaggle / "ILSVRC" / "Data" / "CLS-LOC" / "val",
                    ignore=shutil.ignore_patterns("ILSVRC2012_devkit_t12"))
    write_kaggle_csv(str(kaggle / "LOC_val_solution.csv"), PLAN)
    forms["kaggle"] = str(kaggle)
    # the val tar alone, labels elsewhere (--labels)
    os.makedirs(base / "bare")
    shutil.copy(base / "tar" / "ILSVRC2012_img_val.tar", base / "bare")
    forms["bare tar"] = str(base / "bare")
    forms["labels elsewhere"] = str(kaggle / "LOC_val_solution.csv")
    return forms


@pytest.fixture(scope="module")
def reference(val, tmp_path_factory):
    return evaluate("imagenet", val["folders"], tmp_path_factory.mktemp("ref"))


HELD = {"flat+devkit": {"format": "imagenet-val-flat", "labels": "ILSVRC2012_devkit_t12"},
        "tar+devkit.tar.gz": {"format": "imagenet-val-flat", "files": ["ILSVRC2012_img_val.tar"],
                              "labels": "ILSVRC2012_devkit_t12.tar.gz"},
        "flat+devkit.tar.gz": {"format": "imagenet-val-flat", "labels": "ILSVRC2012_devkit_t12.tar.gz"},
        "kaggle": {"format": "imagenet-val-flat", "labels": "LOC_val_solution.csv"}}


def test_the_colour_oracle_scores_exactly_three_quarters_on_the_folders(reference):
    (variant,) = reference["variants"]
    assert variant["state"]["n"] == 12 and variant["state"]["correct1"] == 9 and variant["metrics"]["top1"] == 75.0
    assert reference["suite"]["data_format"] == {"format": "folder"}


@pytest.mark.parametrize("form", sorted(HELD))
def test_each_official_form_gives_the_folder_record(val, reference, form, tmp_path):
    record = evaluate("imagenet", val[form], tmp_path)
    assert values(record) == values(reference)
    assert record["suite"]["data_format"] == HELD[form]
    assert record["suite"]["fingerprint"] != reference["suite"]["fingerprint"]  # it covers the label file


def test_samples_are_keyed_and_ordered_as_the_class_folders(val):
    suite = get_suite("imagenet")
    folders = suite.variants(val["folders"])[0].source
    tar = suite.variants(val["tar+devkit.tar.gz"])[0].source
    assert tar.entries == folders.entries  # ("<wnid>/ILSVRC2012_val_NNNNNNNN.JPEG", label), (wnid, file) order
    assert [d for _, d, _ in tar.iter_range(0, 12)] == [d for _, d, _ in folders.iter_range(0, 12)]
    key = folders.entries[0][0]
    assert tar.locate(key) == f"{val['tar+devkit.tar.gz']}/ILSVRC2012_img_val.tar:{key.split('/')[1]}"


def test_labels_given_with_an_option(val, reference, tmp_path):
    record = evaluate("imagenet", val["bare tar"], tmp_path, "--labels", val["labels elsewhere"])
    assert values(record) == values(reference)
    assert record["suite"]["data_format"]["labels"] == "LOC_val_solution.csv"
    assert record["run"]["config"]["labels"] == val["labels elsewhere"]


def test_the_clean_twins_read_the_official_forms(val, tmp_path):
    """imagenet-val-r200 (ImageNet val's R-200 classes, scored 200-way) from the tar + devkit tarball."""
    want = evaluate("imagenet-val-r200", val["folders"], tmp_path / "f")
    got = evaluate("imagenet-val-r200", val["tar+devkit.tar.gz"], tmp_path / "t")
    assert values(got) == values(want) and got["variants"][0]["n_images"] == 6


def test_data_check_names_the_format_and_the_label_source(val):
    result = cli("data", "check", "imagenet", val["tar+devkit.tar.gz"])
    assert result.exit_code == 0, result.output
    assert "format: imagenet-val-flat; 1 file (ILSVRC2012_img_val.tar); labels: ILSVRC2012_devkit_t12.tar.gz" \
        in result.output
    folders = cli("data", "check", "imagenet", val["folders"])
    assert "format: folder; labels: class folders" in folders.output


def test_data_shard_converts_the_tar_byte_for_byte(val, tmp_path):
    """Shards of ILSVRC2012_img_val.tar + devkit equal those of the wnid folders, byte for byte."""
    for form in ("folders", "tar+devkit.tar.gz"):
        result = cli("data", "shard", "imagenet", val[form], tmp_path / form, "--shard-size", "5", "--no-progress")
        assert result.exit_code == 0, result.output
    for name in ("000000.tar", "000001.tar", "000002.tar"):
        with open(tmp_path / "folders" / "imagenet" / "val" / name, "rb") as a, \
                open(tmp_path / "tar+devkit.tar.gz" / "imagenet" / "val" / name, "rb") as b:
            assert a.read() == b.read()


# --- bad inputs: one line naming the file and what was expected; nothing written --------------------
def _fails(root, out, *words, extra=()):
    line = one_line_error(cli("eval", "-m", "robench.models.oracle:colour_oracle", "-s", "imagenet", "-r", root,
                              "-o", out, "-j", "0", "--no-progress", *extra), *words)
    assert not os.path.exists(out), "nothing is written"
    return line


def test_a_ground_truth_file_of_the_wrong_length(val, tmp_path):
    root = tmp_path / "short"
    shutil.copytree(val["flat+devkit"], root)
    truth = root / "ILSVRC2012_devkit_t12" / "data" / "ILSVRC2012_validation_ground_truth.txt"
    truth.write_text("".join(truth.read_text().splitlines(keepends=True)[:10]))  # 10 lines for 12 images
    _fails(root, tmp_path / "out", "labels 10 images", "holds 12", "2 without a label",
           "e.g. ILSVRC2012_val_00000011.JPEG has no label")


def test_a_csv_naming_images_that_are_not_there(val, tmp_path):
    root = tmp_path / "kaggle"
    shutil.copytree(val["kaggle"], root)
    with open(root / "LOC_val_solution.csv", "a") as f:
        f.write(f"ILSVRC2012_val_00000013,{imagenet_wnids()[5]} 1 2 3 4\n")
    _fails(root, tmp_path / "out", "LOC_val_solution.csv labels 13 images", "holds 12", "1 labelled but missing",
           "ILSVRC2012_val_00000013 is labelled but not there")


def test_a_flat_folder_without_labels_says_what_was_looked_for(val, tmp_path):
    root = tmp_path / "nolabels"
    shutil.copytree(val["flat+devkit"], root, ignore=shutil.ignore_patterns("ILSVRC2012_devkit_t12"))
    _fails(root, tmp_path / "out", "12 flat ImageNet val images", "no labels", "ILSVRC2012_devkit_t12/",
           "ILSVRC2012_devkit_t12.tar.gz", "LOC_val_solution.csv", "--labels FILE")


def test_a_meta_mat_that_is_not_the_devkits(val, tmp_path):
    root = tmp_path / "badmeta"
    shutil.copytree(val["flat+devkit"], root, ignore=shutil.ignore_patterns("ILSVRC2012_devkit_t12"))
    ids = devkit_ids()
    ids.pop(imagenet_wnids()[123])  # 999 leaves
    write_devkit(str(root), [], ids)
    _fails(root, tmp_path / "out", "meta.mat", "not the 1000 ILSVRC2012 classes", "found 999")


def test_the_val_tar_beside_extracted_folders_is_held_twice(val, tmp_path):
    root = tmp_path / "twice"
    shutil.copytree(val["folders"], root)
    shutil.copy(os.path.join(val["tar+devkit.tar.gz"], "ILSVRC2012_img_val.tar"), root)
    _fails(root, tmp_path / "out", "twice", "ILSVRC2012_img_val.tar")


def test_labels_for_a_run_that_reads_no_val(val, tmp_path):
    line = one_line_error(cli("eval", "-m", "robench.models.oracle:colour_oracle", "-s", "imagenet-r", "-r",
                              val["folders"], "-o", tmp_path / "out", "--labels", val["labels elsewhere"]),
                          "--labels", "none of this run's suites (imagenet-r) reads ImageNet val")
    assert line and not os.path.exists(tmp_path / "out")
