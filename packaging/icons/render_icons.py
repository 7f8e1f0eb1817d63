"""Renders packaging/icons/taskchat.svg to the PNG/ICO files the app and installers use.

Run once after changing the SVG (the outputs are committed):
    .venv/bin/python packaging/icons/render_icons.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(HERE / "taskchat.svg"))
    render(renderer, 256).save(str(HERE / "taskchat-256.png"))
    render(renderer, 512).save(str(HERE / "taskchat-512.png"))
    render(renderer, 256).save(str(HERE / "taskchat.ico"))
    render(renderer, 128).save(str(ROOT / "app" / "desktop" / "assets" / "taskchat.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
