import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App, startApp } from "./app/App";
import "./app/app.css";

const root = document.getElementById("root");
if (!root) throw new Error('index.html lacks <div id="root">');

startApp(window.location.search);
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
