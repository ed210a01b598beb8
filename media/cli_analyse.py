"""``buergerbuero analyse IMAGE... [--json]``: document analysis for support staff and
benchmarks. Per image: the quadrilateral, quality scores and verdict, the MRZ lines,
every check-digit result and the parsed fields."""

from __future__ import annotations

import json
import sys
from typing import Any

import cv2

from media.vision.analysis import analyse


def _text(path: str, data: dict[str, Any]) -> str:
    out = [f"{path}:"]
    if not data["found"]:
        out.append("  kein Dokument gefunden")
    quality = data["quality"]
    quad = data["quad"]
    if quad:
        corners = " ".join(f"({x:.0f},{y:.0f})" for x, y in quad)
        out.append(f"  Umriss ({data['quad_source']}, {data['kind']}): {corners}")
    out.append(
        f"  Qualität: {quality['verdict']}  Schärfe {quality['sharpness']:.3f}  "
        f"Helligkeit {quality['brightness']:.0f}  Kontrast {quality['contrast']:.0f}  "
        f"Spiegelung {quality['glare']:.4f}  Bildanteil {quality['fill']:.2f}"
    )
    out.extend(f"  Hinweis: {hint}" for hint in quality["hints"])
    mrz = data["mrz"]
    if mrz is None:
        return "\n".join(out)
    if "lines" not in mrz:
        out.append(f"  MRZ: nicht lesbar ({mrz['error']})")
        out.extend(f"    gelesen: {line}" for line in mrz["read_lines"])
        return "\n".join(out)
    out.append(f"  MRZ ({mrz['format']}, {'gültig' if mrz['valid'] else 'UNGÜLTIG'}):")
    out.extend(f"    {line}" for line in mrz["lines"])
    checks = "  ".join(f"{name} {'ok' if ok else 'FALSCH'}" for name, ok in mrz["checks"].items())
    out.append(f"  Prüfziffern: {checks}")
    out.extend(f"  {name}: {value}" for name, value in mrz["fields"].items() if value)
    if data["expired"]:
        out.append("  ABGELAUFEN")
    return "\n".join(out)


def main(paths: list[str], as_json: bool) -> int:
    """Analyse each image; 0 when every image could be loaded, 1 otherwise."""
    status = 0
    results: list[dict[str, Any]] = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            print(f"{path}: kann nicht als Bild gelesen werden", file=sys.stderr)
            status = 1
            continue
        data = {"path": path, **analyse(image).to_json()}
        if as_json:
            results.append(data)
        else:
            print(_text(path, data))
    if as_json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return status
