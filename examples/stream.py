"""Stream a chat completion from Parley with plain `requests` (the loop from Parley's seed document).

    PARLEY_URL=http://localhost:8000 PARLEY_API_KEY=my-secret-key python3 examples/stream.py
"""
import json
import os

import requests

BASE_URL = os.environ.get("PARLEY_URL", "http://localhost:8000")
API_KEY = os.environ.get("PARLEY_API_KEY", "my-secret-key")


def stream_chat_completion(model, messages):
    url = f"{BASE_URL}/v1/chat/completions"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
    data = {"model": model, "messages": messages, "stream": True}
    with requests.post(url, json=data, headers=headers, stream=True) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line:
                decoded_line = line.decode("utf-8")
                if decoded_line == "data: [DONE]":
                    break
                if decoded_line.startswith("data: "):
                    chunk = json.loads(decoded_line[6:])
                    if "error" in chunk:  # an error after the stream started
                        raise RuntimeError(chunk["error"]["message"])
                    yield chunk


for chunk in stream_chat_completion("default", [{"role": "user", "content": "Tell me a joke"}]):
    if chunk["choices"]:
        # The last chunk's delta is empty (it carries finish_reason), as at OpenAI: use .get.
        print(chunk["choices"][0]["delta"].get("content") or "", end="", flush=True)
print()
