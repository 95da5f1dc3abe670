# The Python reference of the echo benchmark (bench/echo.sh): the framed
# echo server of bench/echo.lua on asyncio streams, as a Python user would
# write it. It prints its port and serves until stdin closes.
import asyncio
import os
import struct
import sys
import threading


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readexactly(4)
            (n,) = struct.unpack("!I", head)
            if n > 16 << 20:
                break
            body = await reader.readexactly(n)
            writer.write(head + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def stop_at_eof():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=stop_at_eof, daemon=True).start()
asyncio.run(main())
