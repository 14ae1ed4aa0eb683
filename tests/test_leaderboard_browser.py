"""The committed leaderboard page (leaderboard/index.html) in a real browser: Debian's chromium, headless,
driven through selenium and /usr/bin/chromedriver, the page opened from a file:// URL with no network.

Skipped, with the reason, only where chromium, chromedriver or selenium is missing; ROBENCH_REQUIRE_BROWSER=1
(CI) fails instead. A screenshot of the page is kept as a test artefact: in $ROBENCH_TEST_ARTIFACTS when
set, else in pytest's tmp_path.
"""
import os

import pytest

from robench.leaderboard.importers import read_timm

pytestmark = pytest.mark.browser

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(REPO, "leaderboard", "index.html")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000"]
TIMM_FILES = ["results-imagenet.csv", "results-imagenet-r.csv", "results-imagenet-r-clean.csv", "results-imagenet-a.csv",
              "results-imagenet-a-clean.csv", "results-sketch.csv", "results-imagenetv2-matched-frequency.csv"]


def _missing():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} is missing (apt-get install {package})"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = _missing()
    if reason:
        if os.environ.get("ROBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ROBENCH_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get("file://" + PAGE)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def standard_rows():
    """timm's 224 px rows, as the page's standard table holds them (with Hendrycks' ten and the paper's five)."""
    rows = read_timm([os.path.join(REPO, "leaderboard", "imported", "timm", f) for f in TIMM_FILES], "x")
    return rows[rows["protocol"] == ""]


def table(driver, table_id):
    return driver.find_element("id", table_id)


def header(driver, table_id, text):
    from selenium.webdriver.common.by import By

    for th in table(driver, table_id).find_elements(By.CSS_SELECTOR, "thead th"):
        if th.find_element(By.TAG_NAME, "button").text.startswith(text):
            return th
    raise AssertionError(f"no column {text!r} in table {table_id}")


def rows(driver, table_id, visible_only=True):
    """[[cell text, ...], ...] of the table's body rows, in the page's current order (one script call)."""
    return driver.execute_script(
        "var rows = document.getElementById(arguments[0]).tBodies[0].rows, out = [];"
        "for (var i = 0; i < rows.length; i++) {"
        "  if (arguments[1] && rows[i].hidden) { continue; }"
        "  out.push(Array.prototype.map.call(rows[i].cells, function (c) { return c.textContent; })); }"
        "return out;", table_id, visible_only)


def column_index(driver, table_id, text):
    th = header(driver, table_id, text)
    return driver.execute_script("return arguments[0].cellIndex;", th)


def test_clicking_a_header_sorts_by_it_best_first_then_the_other_way(browser, standard_rows):
    th = header(browser, "standard-models", "ImageNet ↑")
    th.find_element("tag name", "button").click()
    col = column_index(browser, "standard-models", "ImageNet ↑")
    best = standard_rows.sort_values(["imagenet_top1"], ascending=False).iloc[0]
    first = rows(browser, "standard-models")[0]
    assert first[0] == best["model"] and first[col].startswith(f"{best['imagenet_top1']:.1f} ± ")  # value ± half-width
    assert first[0] == "eva_giant_patch14_224.clip_ft_in1k"
    assert th.get_attribute("aria-sort") == "descending"
    th.find_element("tag name", "button").click()
    worst = standard_rows.sort_values(["imagenet_top1"], ascending=True).iloc[0]
    assert rows(browser, "standard-models")[0][0] == worst["model"] and th.get_attribute("aria-sort") == "ascending"


def test_numbers_sort_as_numbers_and_missing_values_stay_last(browser):
    th = header(browser, "standard-models", "ImageNet-C mean error ↓")  # lower is better: the first click is ascending
    th.find_element("tag name", "button").click()
    col = column_index(browser, "standard-models", "ImageNet-C mean error ↓")
    values = [r[col] for r in rows(browser, "standard-models")]
    shown = [v for v in values if v != "–"]
    assert shown == ["40.9", "41.6", "42.1", "42.3", "42.8"]  # the paper's rows; timm reports no ImageNet-C
    assert values[:5] == shown and set(values[5:]) == {"–"}
    th.find_element("tag name", "button").click()  # descending: still missing last
    values = [r[col] for r in rows(browser, "standard-models")]
    assert values[:5] == shown[::-1] and set(values[5:]) == {"–"}
    params = header(browser, "standard-models", "Params (M)")
    params.find_element("tag name", "button").click()
    col = column_index(browser, "standard-models", "Params (M)")
    numbers = [float(r[col]) for r in rows(browser, "standard-models") if r[col] != "–"]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] > 1000  # 1013.01 > 99.9: not text order


def test_the_filter_keeps_the_rows_that_contain_the_text(browser, standard_rows):
    box = table(browser, "standard-models").find_element("xpath", "../../div[@class='tools']/input")
    count = table(browser, "standard-models").find_element("xpath", "../../div[@class='tools']/span")
    box.clear()
    box.send_keys("resnet50.a1")
    expected = sorted(m for m in standard_rows["model"] if "resnet50.a1" in m)
    visible = rows(browser, "standard-models")
    assert sorted(r[0] for r in visible) == expected and len(expected) == 3
    total = len(rows(browser, "standard-models", visible_only=False))
    assert total == len(standard_rows) + 10 + 3 + 5  # timm's, Hendrycks', model-vs-human's own three, the paper's
    assert count.text == f"{len(expected)} of {total} rows"
    box.clear()
    box.send_keys("ROBUST_RESNET")  # case does not matter
    assert len(rows(browser, "standard-models")) == 4
    box.clear()
    box.send_keys(" ")
    box.clear()
    browser.execute_script("arguments[0].dispatchEvent(new Event('input'));", box)
    assert len(rows(browser, "standard-models")) == total and count.text == f"{total} rows"


def test_the_er_table_sorts_by_its_band_cells_as_numbers(browser):
    th = header(browser, "standard-er", "ER ImageNet-R")
    th.find_element("tag name", "button").click()
    col = column_index(browser, "standard-er", "ER ImageNet-R")
    values = [float(r[col].split(" ")[0]) for r in rows(browser, "standard-er") if r[col] != "–"]
    assert values == sorted(values, reverse=True) and values[0] > 20 > values[-1]


def test_every_plot_loads_and_a_screenshot_is_kept(browser, tmp_path):
    images = browser.execute_script(
        "return Array.prototype.map.call(document.images, function (i) {"
        " return [i.alt, i.complete, i.naturalWidth, i.naturalHeight]; });")
    assert len(images) == 2
    for alt, complete, width, height in images:
        assert complete and width > 0 and height > 0, alt
    folder = os.environ.get("ROBENCH_TEST_ARTIFACTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0);")
    header(browser, "standard-models", "ImageNet-R ↑").find_element("tag name", "button").click()
    browser.execute_script("document.getElementById('standard-models').parentNode.scrollLeft = 0;")
    browser.execute_async_script("var done = arguments[0];"  # two frames: the scrolled table is painted
                                 "requestAnimationFrame(function () { requestAnimationFrame(done); });")
    lefts = browser.execute_script(  # each header sits over its column, the sticky model column too
        "var t = document.getElementById('standard-models');"
        "return Array.prototype.map.call(t.tHead.rows[0].cells, function (th, i) {"
        " return [th.getBoundingClientRect().left, t.tBodies[0].rows[0].cells[i].getBoundingClientRect().left]; });")
    assert all(abs(head - cell) < 1 for head, cell in lefts), lefts
    shot = os.path.join(folder, "leaderboard-page.png")
    assert browser.save_screenshot(shot)
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size[0] >= 1000 and len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 50
    figure = browser.find_element("tag name", "figure")
    browser.execute_script("arguments[0].scrollIntoView();", figure)
    assert browser.save_screenshot(os.path.join(folder, "leaderboard-page-plot.png"))
