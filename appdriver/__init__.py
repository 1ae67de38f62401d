"""Drives the running app in headless Chromium: it starts ``streamlit run`` of the app, tours its pages, times
its cold start, and load-tests it with many browser sessions at once.

    appdriver.server    start a Streamlit server of the app on a free port, wait until it is healthy, stop it
    appdriver.browser   Debian's Chromium for Playwright, and mouse strokes on a drawing canvas
    appdriver.tour      the app's cold start, and a tour of every page that loads every model
    appdriver.loadtest  K concurrent browser sessions, and the memory that large uploads cost the server

It sits beside ``app/`` and ``showcase/`` because it knows both the pages (their texts, their inputs) and the
package; ``showcase`` never imports it. The browser tests (``tests/e2e``) take their helpers from here, and
``python -m showcase.bench --app-only``, ``--load`` and ``--uploads`` run ``python -m appdriver`` (which prints
its figures as JSON) in a subprocess.
"""
