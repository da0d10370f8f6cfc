"""``sealshot batch``: an archive of video files processed in overlapping chunks, in this process or as Ray tasks.

``plan.plan_archive`` expands the files and cuts each into chunks; ``execute.run_batch`` runs them
(``work.process_chunk`` per chunk: the pipeline over the chunk's frames, sealing the tracks it owns under
deterministic snapshot ids) and returns a ``BatchReport``. This package imports nothing heavy by itself:
Ray workers import ``attempts`` alone for a small actor.
"""
