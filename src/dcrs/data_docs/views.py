"""GX's page views for Data Docs that need no network (see ``dcrs.data_docs``): our
templates (``templates/``) are read before GX's, and each page is told where the site's
root is, relative to itself. Imports GX: imported by GX when it builds a site."""

from __future__ import annotations

from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader

from dcrs.data_docs import GX_DARK_LOGO_URL, TEMPLATES, site_root


class _OfflineView:
    """GX's page view, reading our templates before GX's and telling them where the site's
    root is, relative to the page being rendered."""

    def __init__(self, custom_styles_directory: Any = None, custom_views_directory: Any = None):
        super().__init__(custom_styles_directory, custom_views_directory)  # type: ignore[call-arg]
        env = self.env  # type: ignore[attr-defined]
        env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES), env.loader])
        env.globals["gx_dark_logo_url"] = GX_DARK_LOGO_URL

    def render(self, document: Any, template: Any = None, **kwargs: Any) -> str:
        root = site_root(document.renderer_type, document.expectation_suite_name)
        return super().render(document, template, site_root=root, **kwargs)  # type: ignore[misc]


class OfflinePageView(_OfflineView, DefaultJinjaPageView):
    """A suite's expectations page or a validation's results page."""


class OfflineIndexPageView(_OfflineView, DefaultJinjaIndexPageView):
    """The site's index.html."""
