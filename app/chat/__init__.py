"""Chat with Gemini over the ChatKit protocol: store, agent, tools and the /api/chatkit route."""
