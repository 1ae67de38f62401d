"""A deep link on a freshly started server: /digits renders under the app's own navigation.

Streamlit treats the ``pages/`` folder beside the entry script as a legacy multipage app until a script has
called ``st.navigation``, and would then run the page file alone under an automatic navigation that lists the
page files by name ("digits", "formats", "home"). ``ui._use_the_entry_scripts_navigation`` reruns the entry
script instead; this test proves it on a server that nothing else has visited.
"""

from showcase import tasks

# The entry script's navigation, as the sidebar shows it: Home, one page per model, then Formats.
APP_NAVIGATION = ["Home", *(model.title for model in tasks.MODELS), "Formats compared"]


def sidebar_titles(page) -> list[str]:
    """The page titles the sidebar's navigation lists, without their icons' names."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    links.first.wait_for()
    return [text.strip().splitlines()[-1].strip() for text in links.all_inner_texts()]


def test_a_deep_link_on_a_fresh_server_renders_under_the_apps_navigation(page, own_server):
    _, url = own_server
    page.goto(f"{url}/digits")
    page.get_by_role("heading", name="Handwritten digits").wait_for()
    page.get_by_text("Draw a digit on the canvas").wait_for()
    assert sidebar_titles(page) == APP_NAVIGATION
    assert page.locator('[data-testid="stException"]').count() == 0
