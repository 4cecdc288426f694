import pytest
from avatar_studio.gui.mainwindow import MainWindow

from tests.gui.helpers import open_window


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/gui needs a QApplication and runs again under Xvfb.
    for item in items:
        if "tests/gui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def window(qtbot) -> MainWindow:
    return open_window(qtbot)
