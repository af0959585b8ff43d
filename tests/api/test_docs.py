"""The API's documentation pages load everything they need from the app itself: on a machine
without internet they still work."""

import re

import pytest
from fastapi.testclient import TestClient

REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'")\s>]+)""")


def references(html: str) -> list[str]:
    """Every script, style sheet, icon and document the page asks the browser to load."""
    found = REFERENCE.findall(html)
    return [url for url in found if not url.startswith("#")]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_a_documentation_page_loads_nothing_from_elsewhere(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")

    loaded = references(response.text)
    assert any(url.endswith(".js") for url in loaded), loaded
    for url in loaded:
        assert url.startswith("/"), f"{page} loads {url} from another site"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


def test_swagger_ui_is_version_5_and_reads_this_apis_document(client: TestClient) -> None:
    """Swagger UI before version 5 cannot show an OpenAPI 3.1 document, which FastAPI writes."""
    page = client.get("/docs").text
    assert "/openapi.json" in page
    script = client.get("/static/api-docs/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "SwaggerUIBundle" in script.text and "OAS31" in script.text
