"""`riposte lsp` driven by an independent client: pytest-lsp (pygls' client, lsprotocol's types).

The Rust end-to-end suite (server/cli/tests/lsp_e2e.rs) uses a client written alongside the
server; this one shares no code with it, so a misreading of the protocol on both sides cannot
hide. It needs the binary built (`cargo build --bin riposte`); RIPOSTE_BIN overrides its path.
"""

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

REPO = Path(__file__).resolve().parents[2]
RIPOSTE = os.environ.get("RIPOSTE_BIN", str(REPO / "target" / "debug" / "riposte"))

if not Path(RIPOSTE).is_file():
    pytest.exit(f"{RIPOSTE} does not exist: build it first (cargo build --bin riposte)", returncode=1)

WORKSPACE = Path(tempfile.mkdtemp(prefix="riposte-lsp-")).resolve() / "workspace"
shutil.copytree(REPO / "fixtures" / "workspace", WORKSPACE)

HEAD = "from riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[RIPOSTE, "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=WORKSPACE.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="workspace")],
            initialization_options={"debounceMs": 0},
        )
    )
    yield
    await lsp_client.shutdown_session()


def open_playbook(client: LanguageClient, name: str, text: str) -> str:
    uri = (WORKSPACE / "playbooks" / name).as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    return uri


async def diagnostics_for(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    async def wait() -> list[types.Diagnostic]:
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return list(client.diagnostics[uri])

    return await asyncio.wait_for(wait(), timeout=30)


async def test_bad_playbook_gets_its_diagnostic(client: LanguageClient):
    text = (REPO / "fixtures" / "playbooks" / "bad" / "RP005-unknown-integration.py").read_text()
    uri = open_playbook(client, "typo.py", text)
    diagnostics = await diagnostics_for(client, uri)
    assert [d.code for d in diagnostics] == ["RP005"]
    found = diagnostics[0]
    # The fixture's `# expect: RP005 6:26` is one-based; LSP counts from zero.
    assert found.range == types.Range(
        start=types.Position(line=5, character=25), end=types.Position(line=5, character=36)
    )
    assert found.severity == types.DiagnosticSeverity.Error
    assert found.source == "riposte"
    assert found.code_description.href.endswith("docs/rules.md#rp005-unknown-integration")


async def test_completion_after_alert_dot(client: LanguageClient):
    uri = open_playbook(client, "complete.py", HEAD + "    alert.\n")
    await diagnostics_for(client, uri)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=10),
        )
    )
    items = result if isinstance(result, list) else result.items
    labels = [item.label for item in items]
    for expected in ["id", "title", "severity", "urls", "entities", "raw"]:
        assert expected in labels, labels
    severity = next(item for item in items if item.label == "severity")
    assert severity.kind == types.CompletionItemKind.Property
    assert "lower-cased" in severity.documentation.value


async def test_hover_on_a_profile_name(client: LanguageClient):
    text = HEAD + '    vt = ctx.integration("VirusTotal")\n'
    uri = open_playbook(client, "hover.py", text)
    await diagnostics_for(client, uri)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=30),
        )
    )
    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert "https://www.virustotal.com/api/v3" in hover.contents.value
    assert "`api_key` in header `x-apikey`" in hover.contents.value
    assert hover.range.start == types.Position(line=4, character=25)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
