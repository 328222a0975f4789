"""The behaviour report (行为分析): funnels, paths and key actions -- where users drop off, what
they do instead, and which early actions go with staying. Queries (``behaviour.queries``) run
every sequence in the engine with window functions; analysis (``behaviour.analysis``) turns the
small frames into typed results."""
