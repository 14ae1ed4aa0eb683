"""The check's results as the text table it prints (and keeps in the JSON's ``table``)."""


def table(check):
    from tabulate import tabulate

    lines = [tabulate([[c["name"], c["status"], c["seconds"], c.get("detail") or c.get("reason", "")]
                       for c in check.checks], headers=["check", "status", "s", "detail / reason"],
                      maxcolwidths=[48, 8, 6, 90])]
    rows = [_throughput_row(r) for r in check.throughput]
    note = None
    if rows and all(r.get("status") == "skipped" for r in check.throughput):
        reasons = {r.get("reason") for r in check.throughput}
        rows = [r[:-1] + ["skipped"] for r in rows]
        note = ("throughput rows skipped: " + "; ".join(sorted(reasons)) +
                " (the targets are GPU targets: ResNet-50 bf16, nvjpeg)")
    lines.append(tabulate(rows, headers=["data (ResNet-50, bf16)", "decode", "models", "images", "images/s",
                                         "end-to-end", "model-images/s", "target", "result"],
                          maxcolwidths=[26, 6, 6, 7, 9, 10, 14, 24, 60]))
    if note:
        lines[-1] += "\n" + note
    return "\n\n".join(lines)


def _throughput_row(r):
    if r.get("status") != "ok":
        return [r["data"], r["decoder"], r["models"], "", "", "", "", r["target"],
                f"{r.get('status')}: {r.get('reason', '')}"]
    met = {True: "met", False: "MISSED"}.get(r.get("met"), "")
    extra = f" ({r['gpu_over_cpu']}x CPU)" if r.get("gpu_over_cpu") is not None else ""
    return [r["data"], r["decoder"], r["models"], r["images"], r["images_per_s"], r["end_to_end_images_per_s"],
            r["model_images_per_s"], r["target"], met + extra]
