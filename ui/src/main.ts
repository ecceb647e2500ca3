import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router";
import { restore } from "./auth";
import "./style.css";

restore().finally(() => {
  createApp(App).use(router).mount("#app");
});
