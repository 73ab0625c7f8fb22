"""A local Helios server for tests, benchmarks and demos: ``helios_async.testing``.

:class:`Sandbox` speaks the Helios REST contract (``helios-api.md`` §2 to §4, decisions
D1 to D16) on two loopback listeners: the API host and an object-storage host for the
presigned upload URLs. It validates requests like the real service, runs the model-run
lifecycle CREATED -> RUNNING -> COMPLETE_OK | COMPLETE_ERROR (§3.1) lazily from an
injectable clock, decides outcomes from the uploaded audio (format, duration, silence;
§3.4), and returns deterministic, clearly simulated scores (§3.3, D16)::

    from helios_async.testing import Sandbox, sample_recording

    async with Sandbox(processing_delay=0.5) as sandbox:
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            ...  # create a run, upload sample_recording(), poll it
        assert sandbox.runs_created() == 1
        assert any(request.host == "storage" for request in sandbox.requests)

Units are seconds throughout. The scores mean nothing: they are derived from a SHA-256 of
the audio, and every result says so in its ``warnings``.
"""

from helios_async.testing._recording import RecordedRequest
from helios_async.testing._sandbox import Sandbox, sample_recording

__all__ = ["RecordedRequest", "Sandbox", "sample_recording"]
