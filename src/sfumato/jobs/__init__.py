"""Running generations, orchestration only: `queue` (the jobs table's SQL), `lease` (a hold on a
claimed job), `outputs` (file names, PNG, blob layout), `runner` (`run_job`) and `local_worker`."""
