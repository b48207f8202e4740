"""Reports: the quickstart pipeline and the HTML page it writes."""

from latentlab.report.html import HTMLReport
from latentlab.report.quickstart import MODEL_FILES, QuickstartResult, QuickstartSettings, run_quickstart

__all__ = ["HTMLReport", "QuickstartSettings", "QuickstartResult", "run_quickstart", "MODEL_FILES"]
