"""Phase 2, complete: what the cluster's controllers and API server would add to the loaded objects
(today: endpoints derived from pods), and the indexes the compiler works from."""
