"""Great Expectations' Data Docs for a run, readable with no network.

GX 1.x's page templates load about fifteen stylesheets, scripts and images from CDNs and
GX's web server, so on a network without internet the pages render blank. Our views
wrap GX's page views, with a template loader in front of GX's: a few of GX's
templates (``templates/``, each marked ``dcrs:`` where it differs) load the same CSS,
JavaScript and fonts from ``static/vendor/`` in the site, copied there from ``vendor/``
(npm packages of the versions GX names, with their licences: ``vendor/README.md``,
``scripts/vendor_data_docs_assets.py``). Links are relative to each page, so the folder
can be moved, published or opened from a file share.

No record values reach the pages: that is the checks' result format
(``dcrs.quality.RESULT_FORMAT``), which keeps counts only.

GX instantiates the views by name from the site configuration (``site_config``); they
import GX when GX builds them, not when this module is imported (GX costs seconds).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
VENDOR = HERE / "vendor"
SITE_NAME = "dcrs_quality"
# What a site holds; cleared before each build and rendered again from the results store.
SITE_ENTRIES = ("index.html", "static", "expectations", "validations")
# The validation results of every run (GX's JSON, counts only), kept in the site's folder:
# each run adds its own, and the site is rendered from all of them, so the Data Docs list
# every run, each named by its service and extract. The folder is released with the
# warehouse (dcrs.release.start copies the published one into the build).
RESULTS_DIR = "results"
# The one remote image GX's own stylesheet names (its dark-mode logo).
GX_DARK_LOGO_URL = (
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png"
)
# Folders between a page and the site's root, besides one per dot of the suite's name:
# GX writes expectations/<suite>.html and validations/<suite>/<run>/<time>/<batch>.html.
PAGE_DEPTH = {
    "SiteIndexPageRenderer": 0,
    "ExpectationSuitePageRenderer": 1,
    "ValidationResultsPageRenderer": 4,
    "ProfilingResultsPageRenderer": 4,
}


def site_root(renderer_type: str, suite_name: str | None) -> str:
    """The relative path from a page of ``renderer_type`` to the site's root ('' for the
    index page, '../../' for the expectations page of suite ``validity.clients``)."""
    if renderer_type not in PAGE_DEPTH:
        raise ValueError(f"no known Data Docs page for renderer {renderer_type!r}")
    depth = PAGE_DEPTH[renderer_type]
    if depth and suite_name:
        depth += suite_name.count(".")
    return "../" * depth


class _OfflineView:
    """One of GX's page views (``gx_view``), reading our templates before GX's and telling
    them where the site's root is, relative to the page being rendered. GX calls only
    ``render`` on a view."""

    gx_view: str

    def __init__(self, custom_styles_directory: Any = None, custom_views_directory: Any = None):
        from great_expectations.render import view

        self.view = getattr(view, self.gx_view)(custom_styles_directory, custom_views_directory)
        self.view.env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES), self.view.env.loader])
        self.view.env.globals["gx_dark_logo_url"] = GX_DARK_LOGO_URL

    def render(self, document: Any, template: Any = None, **kwargs: Any) -> str:
        root = site_root(document.renderer_type, document.expectation_suite_name)
        return self.view.render(document, template, site_root=root, **kwargs)


class OfflinePageView(_OfflineView):
    """A suite's expectations page or a validation's results page."""

    gx_view = "DefaultJinjaPageView"


class OfflineIndexPageView(_OfflineView):
    """The site's index.html."""

    gx_view = "DefaultJinjaIndexPageView"


def site_config(directory: Path) -> dict[str, Any]:
    """A GX site configuration: written to ``directory``, every page by our views, no
    'how to' buttons (links to GX's documentation online and a walkthrough)."""
    view = {"module_name": __name__, "class_name": OfflinePageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": OfflineIndexPageView.__name__},
        },
        "site_section_builders": {
            section: {"view": view} for section in ("expectations", "validations", "profiling")
        },
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(directory),
        },
    }


def clear_site(directory: Path) -> None:
    """Remove what an earlier build wrote to ``directory`` (and nothing else)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in SITE_ENTRIES:
        entry = directory / name
        if entry.is_dir():
            shutil.rmtree(entry)
        elif entry.exists():
            entry.unlink()


def results_store(directory: Path) -> Any:
    """GX's validation results store, as JSON files in ``directory``/results."""
    from great_expectations.data_context.store import ValidationResultsStore

    return ValidationResultsStore(
        store_backend={
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(Path(directory).resolve() / RESULTS_DIR),
        }
    )


def keep_results(context: Any, directory: Path) -> int:
    """Add the validation results ``context`` holds (this run's) to the results store in
    ``directory``, then give ``context`` every result the store holds (earlier runs'), so
    that its Data Docs show every run. Returns how many results the store holds."""
    kept = results_store(directory)
    runs = context.validation_results_store
    for key in runs.list_keys():
        kept.set(key, runs.get(key))
    keys = kept.list_keys()
    for key in keys:
        runs.set(key, kept.get(key))
    return len(keys)


def write_site(context: Any, directory: Path) -> Path:
    """Build the Data Docs of the validations ``context`` holds, and of the earlier runs
    kept in ``directory``'s results store, into ``directory``, with the vendored assets in
    ``static/vendor/``; the path of its index.html."""
    directory = Path(directory).resolve()
    clear_site(directory)
    keep_results(context, directory)
    context.add_data_docs_site(site_name=SITE_NAME, site_config=site_config(directory))
    context.build_data_docs(site_names=[SITE_NAME])
    shutil.copytree(VENDOR, directory / "static" / "vendor")
    return directory / "index.html"
