"""`scorebot demo`: a throwaway Synapse, scripted members, a meeting you can watch."""
