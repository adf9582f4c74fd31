"""The comparison report: pandas tables -> Markdown/HTML/CSV, matplotlib plots.

    crossframe report --out reports/out          (make report)
    crossframe.reports.build.build_report(out, models=None, repeats=5, epochs=3, ...)

Modules: ``cli`` (the verb; imports nothing heavy), ``build`` (compose + atomic write),
``sections`` (one function per section, all read from the registry, the mapping declarations
and measured Results), ``structure`` (how a parameter is drawn: 2-D view, gate blocks),
``plots`` (matplotlib, Agg), ``document`` (the report as data), ``markdown`` and ``html`` (the
two renderers), ``browser`` (headless Chromium: image and console checks, screenshots).
"""
