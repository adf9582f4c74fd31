"""The comparison report: pandas tables -> Markdown/HTML/CSV, matplotlib plots."""
