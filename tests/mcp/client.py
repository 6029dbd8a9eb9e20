"""Drives `tracecraft mcp` with the official MCP Python SDK, for tests/mcp.rs.

Reads a scenario on stdin: {"command": BIN, "cwd": DIR, "servers": [{"env": {...}}, ...],
"calls": [{"server": I, "tool": NAME, "args": {...}}, ...]}. Starts every server (each a
separate process speaking MCP over stdio), initialises it and lists its tools, then makes
the calls in order. Prints one JSON object: what each server announced and each result.
"""

import asyncio
import json
import sys
from contextlib import AsyncExitStack

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def main() -> None:
    spec = json.load(sys.stdin)
    out = {"servers": [], "calls": []}
    async with AsyncExitStack() as stack:
        sessions = []
        for server in spec["servers"]:
            params = StdioServerParameters(
                command=spec["command"], args=["mcp"], env=server["env"], cwd=spec["cwd"]
            )
            read, write = await stack.enter_async_context(stdio_client(params))
            session = await stack.enter_async_context(ClientSession(read, write))
            init = await session.initialize()
            tools = await session.list_tools()
            out["servers"].append(
                {
                    "name": init.server_info.name,
                    "tools": [
                        {"name": t.name, "description": t.description, "schema": t.input_schema}
                        for t in tools.tools
                    ],
                }
            )
            sessions.append(session)
        for call in spec["calls"]:
            result = await sessions[call["server"]].call_tool(call["tool"], call.get("args", {}))
            out["calls"].append(
                {
                    "is_error": bool(result.is_error),
                    "text": "".join(getattr(b, "text", "") for b in result.content),
                    "structured": result.structured_content,
                }
            )
    json.dump(out, sys.stdout)


asyncio.run(main())
