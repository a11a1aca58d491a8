"""`effleura worker`: runs background tasks (emails now; reminders, PDFs, imports later).

It is django-tasks-db's database worker under our name. Tasks wait in the database,
so any number of workers on any number of machines can share one PostgreSQL: each
task is claimed with a row lock (SELECT ... FOR UPDATE SKIP LOCKED) and runs once.
`effleura worker --batch` runs what is queued and exits (for cron or tests).
"""

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker


class Command(DatabaseWorker):
    help = "Run Effleura's background tasks from the database queue. Start one or more per machine."
