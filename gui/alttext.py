"""The alt text field: shown only for services that store avatar alt text (Mastodon
4.6+), limited to the length the server reports, with a live count."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget


class AltTextField(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("altTextField")
        self.edit = QLineEdit(self)
        self.edit.setAccessibleName("Alt text for the picture")
        self.edit.setPlaceholderText("Describe the picture for people who cannot see it")
        self.count = QLabel(self)
        self.count.setAccessibleName("Alt text length")
        self.edit.textChanged.connect(self._update_count)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Alt text:", self))
        row.addWidget(self.edit, 1)
        row.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        self._limit = 0
        self.set_limit(0)

    def set_limit(self, limit: int) -> None:
        """0 hides the field (the service stores no alt text; nothing is sent)."""
        self._limit = limit
        self.setVisible(limit > 0)
        if limit > 0:
            self.edit.setMaxLength(limit)
        self._update_count(self.edit.text())

    def text(self) -> str:
        return self.edit.text().strip() if self._limit > 0 else ""

    @Slot(str)
    def _update_count(self, text: str) -> None:
        self.count.setText(f"{len(text)}/{self._limit}" if self._limit else "")
