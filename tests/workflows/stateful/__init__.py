"""The state machine that ``tests/workflows/test_stateful_api.py`` runs, cut by concern: the money
a user expects (``model``), what the steps send (``bodies``), the answer each request should
get (``predictions``), the servers and an example's set-up (``world``), the checks after every
step (``checks``) and the machine's rules (``machine``)."""
