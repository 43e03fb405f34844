"""The repository URL is one setting: every chapter's set-up cell installs from _config.yml's URL."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("set_repository", ROOT / "scripts" / "set_repository.py")
set_repository = importlib.util.module_from_spec(spec)
spec.loader.exec_module(set_repository)


def test_every_setup_cell_installs_from_the_configured_repository():
    url = set_repository.configured_url()
    found = set_repository.setup_urls()
    assert len(found) >= 7, sorted(p.name for p in found)  # every chapter has its set-up cell
    wrong = {p.name: urls for p, urls in found.items() if set(urls) != {url}}
    assert not wrong, f"run scripts/set_repository.py {url}: these chapters install from elsewhere: {wrong}"
