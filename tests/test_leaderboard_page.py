"""The committed leaderboard with timm's imported rows, its effective robustness and its HTML page (the
page's behaviour in a real browser: test_leaderboard_browser.py)."""
import os
import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.leaderboard import generate, stale
from robench.leaderboard.baseline import is_baseline_name
from robench.leaderboard.effective_robustness import bootstrap_band, fit_trend, inverse_logit, logit
from robench.leaderboard.importers import read_timm
from robench.leaderboard.render import MARKDOWN_TOP
from robench.leaderboard.tables import markdown_selection

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.path.join(REPO, "leaderboard")
TIMM = os.path.join(BOARD, "imported", "timm")
COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"
FILES = ["results-imagenet.csv", "results-imagenet-r.csv", "results-imagenet-r-clean.csv", "results-imagenet-a.csv",
         "results-imagenet-a-clean.csv", "results-sketch.csv", "results-imagenetv2-matched-frequency.csv"]


@pytest.fixture(scope="module")
def timm():
    return read_timm([os.path.join(TIMM, f) for f in FILES], COMMIT)


@pytest.fixture(scope="module")
def board():
    return generate(os.path.join(BOARD, "entries"), os.path.join(BOARD, "reported.csv"),
                    os.path.join(BOARD, "README.md"), imported=os.path.join(BOARD, "imported"))


@pytest.fixture(scope="module")
def page():
    with open(os.path.join(BOARD, "index.html"), encoding="utf-8") as f:
        return f.read()


def section_text(markdown, title):
    return markdown.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def model_rows(text):
    return [line.split("|")[1].strip() for line in text.splitlines()
            if line.startswith("| ") and ("reported: " in line or "measured by robench" in line)]


def test_the_readme_shows_the_papers_rows_and_the_best_ten_imported_rows_of_each_section(board, timm):
    standard = section_text(board.markdown, "Standard protocol").split("\n### ", 1)[0]
    shown = model_rows(standard)
    paper = ["deit_small_patch16_224", "robust_resnet_down_inverted_dw_small", "robust_resnet_dw_small",
             "robust_resnet_inverted_dw_small", "robust_resnet_up_inverted_dw_small"]
    at_224 = timm[timm["protocol"] == ""].sort_values(["imagenet_top1", "model"], ascending=[False, True])
    hendrycks = ["ResNet-50 + Assemble-ResNet50", "ResNet-50 + BlurAfterConv", "ResNet-50 + Group-wise Inhibition+DataAug",
                 "ResNet-50 + AugMix", "ResNet-50 + Group-wise Inhibition", "ResNet-50", "ResNet-50 + ANT (3x3)",
                 "ResNet-50 + DeepAugment+AugMix", "ResNet-50 + Patch Uniform", "ResNet-50 + Stylized ImageNet"]
    model_vs_human = ["bagnet33", "humans (model-vs-human observers)", "simclr_resnet50x1"]  # no ImageNet top-1
    # per source in name order, best ImageNet first; timm's row that took model-vs-human's shape bias is a source of
    # its own ("timm + model-vs-human (Shape bias)"), so it is always shown
    assert shown == paper + hendrycks + model_vs_human + list(at_224["model"][:MARKDOWN_TOP]) + ["resnet50.tv_in1k"]
    assert shown[18] == "eva_giant_patch14_224.clip_ft_in1k"
    assert "all 802 rows: [`index.html`](index.html#standard)" in standard
    best = timm[timm["protocol"] == "timm validate.py at 448 px input"].sort_values("imagenet_top1", ascending=False)
    summary = section_text(board.markdown, "Other protocols of timm: 36 sections")  # one line per folded section
    assert f"| timm validate.py at 448 px input | {best['model'].iat[0]} " in summary
    sections = [line for line in board.markdown.splitlines() if line.startswith("## Separate protocol")]
    assert len(sections) == 2  # RobustBench's 5k subset and model-vs-human's upsampled SWAG models
    assert timm.loc[timm["protocol"] != "", "protocol"].nunique() == 36
    assert "**The full tables are in [`index.html`](index.html)**" in board.markdown


def test_the_committed_page_holds_every_row_and_is_current(board, page, timm):
    assert stale(board, os.path.join(BOARD, "README.md")) == []
    standard = page.split('<table id="standard-models"', 1)[1].split("</table>", 1)[0]
    assert standard.count("<tr>") == 1 + 802  # the header row and every standard-protocol row
    total = sum(table.split("<tbody>", 1)[1].count("<tr>")
                for table in re.findall(r'<table id="(?!standard-er)[^"]*" class="sortable">.*?</table>', page, re.S)
                if "<th scope=\"col\" data-type=\"text\" data-first=\"asc\"><button type=\"button\">Source" in table
                and "ER " not in table.split("</thead>")[0] and "Notes" not in table.split("</thead>")[0])
    # timm, Hendrycks, model-vs-human (its ResNet-50 on timm's row), RobustBench, reported.csv
    assert total == 1557 + 10 + (10 - 1) + 12 + 5
    assert "resnet50.tv_in1k" in page and "img_size 224, crop_pct 0.875, bilinear" in page  # per-row notes


def test_the_page_is_self_contained(page):
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,iVBORw0KGgo") for s in sources)
    assert not re.search(r'src="https?:', page) and "url(" not in page


def test_check_compares_the_page_text_and_not_its_png_bytes(tmp_path):
    target = tmp_path / "leaderboard"
    shutil.copytree(BOARD, target)
    args = ["leaderboard", "--entries", str(target / "entries"), "--reported", str(target / "reported.csv"),
            "--out", str(target / "README.md"), "--check"]
    page = target / "index.html"
    text = page.read_text(encoding="utf-8")
    other_png = re.sub(r"(data:image/png;base64,)[A-Za-z0-9+/=]+", r"\1QUJD", text)
    page.write_text(other_png, encoding="utf-8")
    assert CliRunner().invoke(cli, args).exit_code == 0  # PNG bytes vary with matplotlib: not compared
    page.write_text(text.replace("802 rows", "801 rows", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and f"{page} differs from what the entries generate" in result.stderr
    page.write_text(re.sub(r"(data:image/png;base64,)[A-Za-z0-9+/=]+", r"\1", text), encoding="utf-8")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "has a plot without its image" in result.stderr
    page.unlink()
    assert "index.html does not exist" in CliRunner().invoke(cli, args).stderr


def test_hendrycks_imagenet_c_leaderboard_rows_come_from_the_shipped_readme():
    from robench.leaderboard.importers import read_hendrycks_c

    path = os.path.join(BOARD, "imported", "hendrycks-robustness", "robustness-README.md")
    rows = read_hendrycks_c([path], "8190fe3").set_index("model")
    assert len(rows) == 10 and (rows["protocol"] == "").all() and (rows["source"] == "hendrycks-robustness").all()
    assert (rows.loc["ResNet-50", "imagenet_c_mce"], rows.loc["ResNet-50", "imagenet_top1"]) == (76.7, 76.15)
    assert (rows.loc["ResNet-50 + AugMix", "imagenet_c_mce"], rows.loc["ResNet-50 + AugMix", "imagenet_top1"]) == (65.3, 77.53)
    assert "Hendrycks and Mu et al. (ICLR 2020); standalone method: Yes" in rows.loc["ResNet-50 + AugMix", "notes"]


def test_a_readme_without_the_leaderboard_table_is_one_line(tmp_path):
    from robench.errors import RecordError
    from robench.leaderboard.importers import read_hendrycks_c

    bad = tmp_path / "README.md"
    bad.write_text("# robustness\n\n## ImageNet-C Leaderboard\n\n| Method | mCE |\n|---|---|\n| x | 1% |\n")
    with pytest.raises(RecordError, match="does not have the columns Method, Reference"):
        read_hendrycks_c([str(bad)], "c")
    bad.write_text("# robustness\n")
    with pytest.raises(RecordError, match="no '## ImageNet-C Leaderboard' heading"):
        read_hendrycks_c([str(bad)], "c")


@pytest.mark.parametrize("name,baseline", [
    ("resnet50.a1_in1k", True), ("resnet50.tv_in1k", True), ("deit_small_patch16_224.fb_in1k", True),
    ("deit_small_distilled_patch16_224.fb_in1k", True), ("vit_base_patch16_224.augreg_in21k_ft_in1k", False),
    ("convnext_tiny.fb_in22k_ft_in1k", False), ("resnet50.fb_swsl_ig1b_ft_in1k", False),
    ("tf_efficientnet_b0.ap_in1k", False), ("tf_efficientnet_b0.ns_jft_in1k", False),
    ("convnextv2_tiny.fcmae_ft_in1k", False), ("vit_base_patch16_clip_224.openai_ft_in1k", False),
    ("resnet50", False), ("resnet50.am_in1k", False)])
def test_the_baseline_rule_keeps_imagenet_1k_only_models(name, baseline):
    assert is_baseline_name(name) is baseline


def test_the_pages_trend_is_numpys_polyfit_over_the_declared_baseline(board, timm):
    base = timm[(timm["protocol"] == "") & timm["model"].map(is_baseline_name)]
    assert len(base) == 632 and "**Baseline set**: 632 models" in board.markdown
    slope, intercept = np.polyfit(logit(base["imagenet_top1"] / 100), logit(base["imagenet_r_top1"] / 100), 1)
    fits = board.markdown.split("| OOD set", 1)[1]
    assert f"| ImageNet-R      |               632 |   {slope:.3f} |      {intercept:.3f} |" in fits
    # a model's ER is its distance from that line: robust_resnet_up_inverted_dw_small (79.2, 48.7 on R)
    expected = 48.7 - 100 * inverse_logit(slope * logit(0.792) + intercept)
    row = next(line for line in board.markdown.splitlines()
               if line.startswith("| robust_resnet_up_inverted_dw_small") and "[" in line)
    assert row.split("|")[3].strip().startswith(f"{expected:+.1f} [")


def test_the_vectorised_bootstrap_equals_refitting_each_resample(timm):
    base = timm[(timm["protocol"] == "") & timm["model"].map(is_baseline_name)].head(40)
    clean, ood = base["imagenet_top1"].to_numpy() / 100, base["sketch_top1"].to_numpy() / 100
    models_clean, models_ood = np.array([0.7, 0.8, 0.85]), np.array([0.25, 0.3, 0.4])
    low, high = bootstrap_band(clean, ood, models_clean, models_ood, samples=300, seed=3)
    picks = np.random.default_rng(3).integers(0, len(clean), (300, len(clean)))
    values = []
    for pick in picks:  # the reference: one least-squares fit per resample
        trend = fit_trend(clean[pick], ood[pick])
        values.append(models_ood - trend.predict(models_clean))
    ref_low, ref_high = np.percentile(np.array(values), [2.5, 97.5], axis=0)
    assert np.allclose(low, ref_low, atol=1e-12) and np.allclose(high, ref_high, atol=1e-12)


def test_a_hostile_model_name_is_text_on_the_page(tmp_path):
    from robench.leaderboard.html_page import page_html

    os.mkdir(tmp_path / "entries")
    csv = tmp_path / "reported.csv"
    csv.write_text('model,source,imagenet_top1\n"<img src=x onerror=alert(1)>",p<b>,79.0\nm](javascript:x),p,70\n')
    board = generate(str(tmp_path / "entries"), str(csv), str(tmp_path / "README.md"))
    html = page_html(board)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "p<b>" not in html and "javascript:" not in re.sub(r"<td>[^<]*</td>", "", html)


def test_markdown_selection_keeps_hand_rows_then_the_best_imported(timm):
    import pandas as pd

    frame = pd.DataFrame({"model": ["a", "b", "c", "d", "e"], "kind": [1, 2, 2, 2, 0],
                          "source": ["reported: p", "reported: t", "reported: t", "reported: t", "measured"],
                          "imagenet_top1": [70.0, 80.0, None, 85.0, 60.0]})
    assert list(markdown_selection(frame, 1)["model"]) == ["a", "e", "d"]
    assert list(markdown_selection(frame, 5)["model"]) == ["a", "e", "d", "b", "c"]  # missing top-1 last
    assert list(markdown_selection(frame, None)["model"]) == list(frame["model"])


def test_a_page_of_measured_records_holds_their_detail_tables_metrics_and_plots(tmp_path):
    from robench.leaderboard import build

    data = os.path.join(REPO, "tests", "data", "leaderboard")
    shutil.copytree(os.path.join(data, "entries"), tmp_path / "entries")
    shutil.copy(os.path.join(data, "reported.csv"), tmp_path / "reported.csv")
    board = build(str(tmp_path / "entries"), str(tmp_path / "reported.csv"), str(tmp_path / "README.md"))
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert stale(board, str(tmp_path / "README.md")) == []
    from robench.leaderboard.blocks import Details, Heading

    fixed = {"Measured beside reported", "Plots", "Effective robustness"}
    titles = [b.text for b in board.blocks if isinstance(b, Heading) and b.level == 3 and b.text not in fixed]
    titles += [b.summary for b in board.blocks if isinstance(b, Details)]
    assert len(titles) >= 3 and all(f">{title}<" in page for title in titles)  # every detail table, the metrics
    assert page.count("<img src=\"data:image/png;base64,iVBORw0KGgo") == len(board.plots) == 5
    assert "Measured beside reported" in page and "**" not in page.split("<main>", 1)[1]  # markdown bold converted
