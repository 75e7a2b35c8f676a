"""The report page's template, stylesheet and review script (package data, rendered by eval.report_page)."""
