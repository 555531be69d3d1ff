"""Protocol-faithful stand-ins for services that cannot run everywhere (an OpenAI-compatible HTTP server on
loopback, a process speaking the Lean REPL's JSON protocol). They are shipped in the package, like
``httpx.MockTransport``, so users can test their own pipelines offline; they are never used in production paths."""
