"""Lists (Todoist's projects), subtasks, manual order and the Today/Upcoming views."""
