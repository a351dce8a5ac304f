"""The browser edge: the Gradio app (ui), its HTML (presentation), sign-in and feedback."""
