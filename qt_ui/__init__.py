"""The PyQt6 dialog: thin views over an observable model, driven by asyncio through qasync."""
